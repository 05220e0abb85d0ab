using Akka.Actor;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>With rooms sharded the room index is a cluster singleton; a journal failure must not leave it stopped.</summary>
public sealed class ShardedRoomIndexTests
{
    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The journal refuses the index's write (a trigger on the table, as a timed-out write would): the singleton's supervisor
    /// starts the index again and hands it the listing again, which is written once the journal takes writes.
    /// </summary>
    [Fact]
    public async Task The_index_singleton_stopped_by_a_failed_write_is_started_again_and_writes_the_listing()
    {
        await using var cluster = await ShardedCluster.StartAsync();
        var indexId = RoomIndex.PersistenceIdFor(Jid.Parse(Wallops.Service));
        IActorRef? first = null;
        var proxy = cluster.Primaries[1].System.ActorSelection($"/user/{RoomDirectory.Name}/index");
        // Recovered: the journal's tables exist.
        await proxy.Ask<RoomIndexRecovered>(ListIndexedRooms.Instance, TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(async () => (first = await SingletonIndexAsync(cluster)) is not null, "the index singleton to start", TimeSpan.FromSeconds(30));
        cluster.Journal.RefuseWritesOf(indexId);
        var writtenBefore = cluster.Journal.HighestSequenceNr(indexId);

        var room = Jid.Parse($"verona@{Wallops.Service}");
        proxy.Tell(new RoomListingChanged(room, "Verona", Occupants: 0, IsPublic: true, Exists: true, IsPersistent: true));
        // Stopped, or already started again (and stopped again while the journal refuses).
        await Eventually.HoldsAsync(async () => !Equals(await SingletonIndexAsync(cluster), first),
            "the index to stop on the failed write", TimeSpan.FromSeconds(20));
        Assert.Equal(writtenBefore, cluster.Journal.HighestSequenceNr(indexId));
        cluster.Journal.TakeWritesAgain();

        await Eventually.HoldsAsync(() => cluster.Journal.EventsAsJson(indexId).Any(@event => @event.Contains(room.ToString())),
            "the listing to be written once the journal takes writes", TimeSpan.FromSeconds(30));
    }

    /// <summary>The index under the singleton, on whichever primary node holds it.</summary>
    private static async Task<IActorRef?> SingletonIndexAsync(ShardedCluster cluster)
    {
        foreach (var node in cluster.Primaries)
        {
            var identity = await node.System.ActorSelection($"/user/{RoomDirectory.Name}/index-singleton/singleton/journal")
                .Ask<ActorIdentity>(new Identify(null), Ask);
            if (identity.Subject is not null) return identity.Subject;
        }
        return null;
    }
}
