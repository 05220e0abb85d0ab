using System.Xml.Linq;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>Drives one room of a <see cref="DmucTestCluster"/> the way clients on the various hosts would.</summary>
public sealed class ClusterRoom(DmucTestCluster cluster, string room)
{
    private int _barriers;

    public string Jid => room;
    public DmucTestCluster Cluster => cluster;

    public string OccupantJid(string nick) => $"{room}/{nick}";

    /// <summary><paramref name="owner"/> creates the room and accepts the default configuration, which unlocks it.</summary>
    public async Task CreateAsync(ChatUser owner)
    {
        await EnterAsync(owner);
        await SubmitAsync(owner, AcceptDefaultConfiguration(owner, room));
    }

    /// <summary>Enters and waits for the user's own presence (status 110), which the room sends after the roster.</summary>
    public async Task EnterAsync(ChatUser user, string? historyRequest = null)
    {
        cluster.SendFromUser(Enter(user, room, historyRequest));
        await cluster.WaitForAsync(user.Jid, Received.OwnPresence(room, user.Nick));
    }

    public async Task EnterAllAsync(IEnumerable<ChatUser> users)
    {
        foreach (var user in users) await EnterAsync(user);
    }

    /// <summary>Sends an iq and waits for its result; an error reply fails the test with the reply in the message.</summary>
    public async Task SubmitAsync(ChatUser user, XElement iq)
    {
        var id = iq.Attribute("id")!.Value;
        cluster.SendFromUser(iq);
        var reply = await cluster.WaitForAsync(user.Jid, Received.IqReply(id, room));
        if (!reply.IsIqResult(id)) throw new InvalidOperationException($"iq {id} of {user} was refused: {reply}");
    }

    /// <summary>
    /// Waits until everything users of the occupants' hosts sent before now has been handled by the room and its
    /// results have reached every occupant. One occupant per host says a barrier message: it travels to the primary
    /// behind what its node relayed earlier, and back behind what the room sent earlier (one link per room and
    /// host), so once every occupant has every barrier nothing earlier is still on its way. Returns each host's
    /// barrier body: only the barrier of the host a stanza came from is known to have been handled after it.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> SettleAsync(IReadOnlyCollection<ChatUser> occupants)
    {
        var barriers = occupants.DistinctBy(occupant => occupant.Host).ToDictionary(speaker => speaker.Host, speaker =>
        {
            var body = $"barrier {++_barriers}";
            cluster.SendFromUser(Barrier(speaker, body));
            return body;
        });
        // Every room numbers its barriers from 1, and users of a shared cluster are in several rooms: only this room's count.
        await Task.WhenAll(from occupant in occupants
                           from body in barriers.Values
                           select cluster.WaitForAsync(occupant.Jid, stanza => IsFromThisRoom(stanza) && stanza.IsGroupchatWithBody(body)));
        return barriers;
    }

    /// <summary>
    /// As <see cref="SettleAsync"/>, after a stanza of <paramref name="actor"/> that changes who is in the room:
    /// barriers said while it is still on its way could reach the room before it and miss (or reach) the wrong
    /// occupants, so a first barrier from the actor's host, behind the stanza, shows that the room has handled it.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> SettleAfterAsync(ChatUser actor, IReadOnlyCollection<ChatUser> occupantsAfter)
    {
        if (occupantsAfter.FirstOrDefault(occupant => occupant.Host == actor.Host) is { } neighbour)
            await SettleAsync([neighbour]);
        return await SettleAsync(occupantsAfter);
    }

    /// <summary>The nicks the user's received presences show in the room now, in ordinal order.</summary>
    public IReadOnlyList<string> RosterSeenBy(ChatUser user) => RosterView.Of(cluster.ReceivedBy(user.Jid), Dmuc.Xmpp.Jid.Parse(room)).Keys.ToList();

    /// <summary>Whether the user is in the room as far as what it received says: its latest own presence (110) is available.</summary>
    public bool SeesItselfIn(ChatUser user) =>
        cluster.ReceivedBy(user.Jid).LastOrDefault(stanza => stanza.Name == Ns.Client + "presence"
            && stanza.Attribute("from")?.Value == OccupantJid(user.Nick) && stanza.HasStatus(110)) is { } own
        && own.Attribute("type") is null;

    private bool IsFromThisRoom(XElement stanza) =>
        Dmuc.Xmpp.Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Bare.ToString() == room;

    /// <summary>Whether a stanza is one of the barriers <see cref="SettleAsync"/> says.</summary>
    public static bool IsBarrier(XElement stanza) => stanza.Element(Ns.Client + "body")?.Value.StartsWith("barrier ", StringComparison.Ordinal) == true;

    /// <summary>A groupchat message kept out of the room's history (XEP-0334 no-store), so that barriers change nothing joiners see.</summary>
    private XElement Barrier(ChatUser speaker, string body)
    {
        var message = Say(speaker, room, body, id: "barrier-" + body.Split(' ')[1]);
        message.Add(new XElement((XNamespace)"urn:xmpp:hints" + "no-store"));
        return message;
    }
}
