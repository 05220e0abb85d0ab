using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Telemetry;

public static class RoomTraffic
{
    /// <summary>
    /// A groupchat message to the room that the room broadcast. A refused one is answered with an error, so its
    /// decision carries no groupchat message.
    /// </summary>
    public static bool IsAcceptedGroupchat(RoomCommand command, Decision decision) =>
        command is HandleStanza { Stanza: var stanza } && IsGroupchat(stanza) && decision.Deliveries.Any(delivery => IsGroupchat(delivery.Stanza));

    private static bool IsGroupchat(System.Xml.Linq.XElement stanza) =>
        stanza.Name == Ns.Client + "message" && (string?)stanza.Attribute("type") == "groupchat";
}
