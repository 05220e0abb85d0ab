using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>
/// What a node does with a user's stanza while its XMPP server is not taking the node's output as fast as it comes (the
/// component stream's queue is over its budget): the stanza is refused with a wait/resource-constraint error, so the
/// sender knows and may retry, rather than accepted into work whose output could only pile up or be lost. What lowers the
/// load (leaving) and what answers the node (results and errors, which tell a room that a session is gone) is always taken.
/// </summary>
public static class LoadShedding
{
    public const string RefusalText = "The service is overloaded; try again shortly";

    /// <returns>The error for the sender, or null when the stanza is taken even under load.</returns>
    public static XElement? RefusalOf(XElement stanza)
    {
        var type = (string?)stanza.Attribute("type");
        var taken = type is "error" || stanza.Attribute("from") is null || stanza.Name.LocalName switch
        {
            "presence" => type is "unavailable",
            "iq" => type is "result",
            _ => false,
        };
        return taken ? null : StanzaError.Reply(stanza, StanzaErrorCondition.ResourceConstraint, RefusalText);
    }
}
