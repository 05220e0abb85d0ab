using System.Xml.Linq;

namespace Dmuc.Integration.Tests.Xmpp;

/// <summary>
/// A real client in one room that remembers everything it received, so that a test can count copies and rebuild
/// the roster the user sees from the presence it got.
/// </summary>
public sealed class RoomParticipant(XmppTestClient client, string room, string nick) : IAsyncDisposable
{
    private readonly List<XElement> _seen = [];

    public XmppTestClient Client { get; } = client;
    public string Room { get; } = room;
    public string Nick { get; } = nick;
    public string OccupantJid => $"{Room}/{Nick}";
    public IReadOnlyList<XElement> Seen => _seen;

    /// <summary>Enters; the roster the room sent on entry is kept with the rest.</summary>
    /// <param name="timeout">The first entry of a test process runs the whole cluster path cold (seconds on a busy machine).</param>
    public static async Task<RoomParticipant> EnterAsync(XmppTestClient client, string room, string nick, TimeSpan? timeout = null)
    {
        var participant = new RoomParticipant(client, room, nick);
        participant._seen.AddRange(await client.JoinRoomAsync(room, nick, timeout));
        return participant;
    }

    /// <summary>The first stanza received so far or from now on that matches.</summary>
    public async Task<XElement> WaitForAsync(Func<XElement, bool> matches, TimeSpan? timeout = null)
    {
        if (_seen.FirstOrDefault(matches) is { } already) return already;
        var received = await Client.ReceiveUntilAsync(matches, timeout);
        _seen.AddRange(received);
        return received[^1];
    }

    /// <summary>Takes in whatever arrived already, without waiting.</summary>
    public async Task CatchUpAsync()
    {
        while (await Client.TryReceiveAsync(TimeSpan.FromMilliseconds(50)) is { } next) _seen.Add(next);
    }

    public Task SendGroupchatAsync(string body, string? id = null) =>
        Client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
            id is null ? null : new XAttribute("id", id), new XElement(XmppNamespaces.Client + "body", body)));

    public Task LeaveAsync() =>
        Client.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", OccupantJid), new XAttribute("type", "unavailable")));

    public int CopiesOf(string body) => _seen.Count(stanza => MucClientSteps.IsGroupchatBody(stanza, body));

    /// <summary>The nicks in the room as this user's presence shows them, in order of nick.</summary>
    public IReadOnlyList<string> Roster()
    {
        var roster = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var presence in _seen.Where(stanza => stanza.Name.LocalName == "presence"))
        {
            var from = (string?)presence.Attribute("from");
            if (from is null || !from.StartsWith(Room + "/", StringComparison.Ordinal)) continue;
            var occupant = from[(Room.Length + 1)..];
            if ((string?)presence.Attribute("type") == "unavailable") roster.Remove(occupant);
            else if (presence.Attribute("type") is null) roster.Add(occupant);
        }
        return roster.ToList();
    }

    /// <summary>Waits until each participant has seen every other one enter.</summary>
    public static async Task SeeEachOtherAsync(IReadOnlyList<RoomParticipant> participants)
    {
        foreach (var participant in participants)
        foreach (var other in participants.Where(other => other != participant))
            await participant.WaitForAsync(PresenceOf(other.OccupantJid, available: true));
    }

    public static Func<XElement, bool> PresenceOf(string occupantJid, bool available) => stanza =>
        stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("from") == occupantJid
        && ((string?)stanza.Attribute("type") == "unavailable") != available;

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
