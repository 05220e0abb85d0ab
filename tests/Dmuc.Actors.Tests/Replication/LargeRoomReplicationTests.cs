using Xunit;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// Rooms large enough that one command's batch outgrows Akka.Remote's default 128 kB frame: the roster an
/// entering user receives is some 380 bytes per occupant. Such a batch used to be dropped on the wire, so the
/// newcomer never saw the room.
/// </summary>
[Collection(nameof(LargeRoomReplicationTests))]
public sealed class LargeRoomReplicationTests : IAsyncLifetime
{
    private const int OccupantsBefore = 650;
    private DmucTestCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await DmucTestCluster.StartAsync(new DmucNodeSpec(Wallops.Avalon, IsPrimary: true), new DmucNodeSpec(Wallops.Vesa));

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_user_entering_a_room_of_hundreds_on_a_replica_host_receives_the_whole_roster()
    {
        var room = new ClusterRoom(_cluster, "big@" + Wallops.Service);
        await room.CreateAsync(new ChatUser("Owner", "owner@" + Wallops.Avalon + "/desk"));
        var crowd = Enumerable.Range(0, OccupantsBefore).Select(i => new ChatUser($"user{i:D3}", $"user{i:D3}@{Wallops.Vesa}/r")).ToList();
        await room.EnterAllAsync(crowd);

        var latecomer = new ChatUser("Latecomer", "late@" + Wallops.Vesa + "/r");
        await room.EnterAsync(latecomer);

        var roster = room.RosterSeenBy(latecomer);
        Assert.Equal(OccupantsBefore + 2, roster.Count);
        Assert.Contains("Owner", roster);
        Assert.Contains("user649", roster);
    }
}

/// <summary>Hundreds of entries load both cores for a while: run alone, so the timing of other tests is not disturbed.</summary>
[CollectionDefinition(nameof(LargeRoomReplicationTests), DisableParallelization = true)]
public sealed class LargeRoomCollection;
