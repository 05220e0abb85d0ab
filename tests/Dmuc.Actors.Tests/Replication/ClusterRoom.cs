using System.Xml.Linq;
using Dmuc.Actors.Tests.Infrastructure;
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
    /// host), so once every occupant has every barrier nothing earlier is still on its way. Returns the barriers.
    /// </summary>
    public async Task<IReadOnlyList<string>> SettleAsync(IReadOnlyCollection<ChatUser> occupants)
    {
        var barriers = occupants.DistinctBy(occupant => occupant.Host).Select(speaker =>
        {
            var body = $"barrier {++_barriers}";
            cluster.SendFromUser(Say(speaker, room, body, id: $"barrier-{_barriers}"));
            return body;
        }).ToList();
        await Task.WhenAll(from occupant in occupants
                           from body in barriers
                           select cluster.WaitForAsync(occupant.Jid, Received.GroupchatBody(body)));
        return barriers;
    }
}
