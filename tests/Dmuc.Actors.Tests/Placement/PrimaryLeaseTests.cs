using Dmuc.Actors.Placement;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>The lease that decides which primary-capable node downs which (<see cref="PrimaryDowning"/>), on the journal's database.</summary>
public sealed class PrimaryLeaseTests : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(20);
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 6, 0, 0, TimeSpan.Zero);
    private readonly TempJournal _journal = new();

    private PrimaryLease Lease => PrimaryLease.FromJournal(_journal.Config, "dmuc-primaries@test", Lifetime);

    [Fact]
    public async Task One_node_holds_it_until_it_expires_and_the_holder_renews_it()
    {
        Assert.True(await Lease.TryTakeAsync("node-a", Start));
        Assert.False(await Lease.TryTakeAsync("node-b", Start + TimeSpan.FromSeconds(1)));
        Assert.True(await Lease.TryTakeAsync("node-a", Start + TimeSpan.FromSeconds(15)));
        // Renewed at 15 s: still node-a's at 30 s, free at 36 s.
        Assert.False(await Lease.TryTakeAsync("node-b", Start + TimeSpan.FromSeconds(30)));
        Assert.True(await Lease.TryTakeAsync("node-b", Start + TimeSpan.FromSeconds(36)));
        Assert.False(await Lease.TryTakeAsync("node-a", Start + TimeSpan.FromSeconds(37)));
    }

    [Fact]
    public async Task Two_nodes_taking_it_at_once_get_it_once()
    {
        var takes = await Task.WhenAll(Enumerable.Range(0, 8).Select(node => Task.Run(() => Lease.TryTakeAsync($"node-{node}", Start))));
        Assert.Single(takes, taken => taken);
    }

    public void Dispose() => _journal.Dispose();
}
