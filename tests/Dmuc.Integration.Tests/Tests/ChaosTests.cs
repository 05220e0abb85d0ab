using Dmuc.Integration.Tests.Chaos;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Topology;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The short, fixed-seed chaos run of CI (the long one is bench/Dmuc.Chaos, docs/benchmarks.md#chaos): the four-host
/// local topology, six users on all four hosts talking once a second, seeded faults for 40 s, then the checker.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    /// <summary>
    /// Its seed draws, within 40 s (`dmuc-chaos --plan --seed 55 --duration 00:00:40 --faults Cut ServerCrash`), a kill -9
    /// of the Prosody of avalon (the primary's host), of eris and of vesa, each restarted after 1–3 s, then a 12 s cut
    /// between avalon and eris: long enough for eris to serve its users alone and rejoin with a netjoin.
    /// </summary>
    /// <remarks>
    /// Node crashes have a run of their own (below). A kill -9 of the primary's node is in neither: under the load of a
    /// busy machine, a primary restarted while a replica node was also down came back as a cluster of its own with that
    /// replica, and the other replicas never rejoined it (docs/benchmarks.md#chaos); add it once that is fixed.
    /// </remarks>
    private static readonly ChaosOptions Options = new(Seed: 55, Duration: TimeSpan.FromSeconds(40), MessageInterval: TimeSpan.FromSeconds(1),
        Faults: [FaultKind.Cut, FaultKind.ServerCrash]);

    /// <summary>
    /// Its seed draws, within 20 s (`dmuc-chaos --plan --seed 22 --duration 00:00:20 --faults ReplicaNodeCrash`), a kill -9 of
    /// killrc's Dmuc node (two of the users are there) for 3.3 s, then of vesa's for 5.3 s: their users stay connected to their
    /// Prosody, the new nodes relearn them and resume them from their receipts (docs/protocol/netjoin.md §5).
    /// </summary>
    private static readonly ChaosOptions NodeCrashOptions = new(Seed: 22, Duration: TimeSpan.FromSeconds(20), MessageInterval: TimeSpan.FromSeconds(1),
        Faults: [FaultKind.ReplicaNodeCrash]);

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Under_cuts_and_server_crashes_every_message_has_one_outcome_and_everyone_who_stayed_got_it_once_in_one_order()
    {
        var verdict = await RunAsync(Options);

        // The run must have exercised what it claims: faults of both kinds, traffic, copies and ghosts to check.
        Assert.True(verdict.FaultsInjected.GetValueOrDefault(FaultKind.Cut) > 0 && verdict.FaultsInjected.GetValueOrDefault(FaultKind.ServerCrash) > 0,
            $"faults injected: {string.Join(", ", verdict.FaultsInjected)}");
        Assert.True(verdict.Delivered > 100 && verdict.CopiesChecked > 500, $"{verdict.Delivered} delivered, {verdict.CopiesChecked} copies checked");
        Assert.True(verdict.GhostsChecked > 0, "no ghost was checked: the killed server had no users, or nobody else stayed");
    }

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Under_replica_node_crashes_every_message_has_one_outcome_and_the_crashed_hosts_users_get_each_message_once()
    {
        var verdict = await RunAsync(NodeCrashOptions);

        Assert.Equal(2, verdict.FaultsInjected.GetValueOrDefault(FaultKind.ReplicaNodeCrash));
        Assert.True(verdict.Delivered > 50 && verdict.CopiesChecked > 250, $"{verdict.Delivered} delivered, {verdict.CopiesChecked} copies checked");
    }

    /// <summary>Runs the seed on a fresh topology and asserts the checker's verdict, with four newcomers' histories compared.</summary>
    private async Task<ChaosVerdict> RunAsync(ChaosOptions options)
    {
        await using var topology = await LocalTopology.UpAsync();
        var record = await new ChaosRun(topology, options, new TestOutputWriter(output)).RunAsync();
        var verdict = ChaosChecker.Check(record);
        output.WriteLine(ChaosReport.Format(options, verdict));

        Assert.True(verdict.Passed, string.Join("\n", verdict.Problems));
        Assert.Equal(4, verdict.HistoriesCompared);
        return verdict;
    }
}
