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
[Collection(LocalTopologyCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output)
{
    /// <summary>
    /// Its seed draws, within 40 s (`dmuc-chaos --plan --seed 55 --duration 00:00:40 --faults Cut ServerCrash`), a kill -9
    /// of the Prosody of avalon (the primary's host), of eris and of vesa, each restarted after 1–3 s, then a 12 s cut
    /// between avalon and eris: long enough for eris to serve its users alone and rejoin with a netjoin.
    /// </summary>
    /// <remarks>Node crashes have runs of their own (below).</remarks>
    private static readonly ChaosOptions Options = new(Seed: 55, Duration: TimeSpan.FromSeconds(40), MessageInterval: TimeSpan.FromSeconds(1),
        Faults: [FaultKind.Cut, FaultKind.ServerCrash]);

    /// <summary>
    /// Its seed draws, within 20 s (`dmuc-chaos --plan --seed 22 --duration 00:00:20 --faults ReplicaNodeCrash`), a kill -9 of
    /// killrc's Dmuc node (two of the users are there) for 3.3 s, then of vesa's for 5.3 s: their users stay connected to their
    /// Prosody, the new nodes relearn them and resume them from their receipts (docs/protocol/netjoin.md §5).
    /// </summary>
    private static readonly ChaosOptions NodeCrashOptions = new(Seed: 22, Duration: TimeSpan.FromSeconds(20), MessageInterval: TimeSpan.FromSeconds(1),
        Faults: [FaultKind.ReplicaNodeCrash]);

    /// <summary>
    /// Its seed draws, within 25 s (`dmuc-chaos --seed 3 --duration 00:00:25 --faults PrimaryNodeCrash`), kill -9s of
    /// avalon's Dmuc node, the primary, each started again after a few seconds (two in the runs of docs/benchmarks.md#chaos:
    /// the schedule goes on from each recovery): the room comes back from its journal with its occupants, the replicas
    /// rejoin it with a netjoin, and what avalon's users said meanwhile is refused by their Prosody (docs/protocol/netjoin.md §5).
    /// </summary>
    private static readonly ChaosOptions PrimaryCrashOptions = new(Seed: 3, Duration: TimeSpan.FromSeconds(25), MessageInterval: TimeSpan.FromSeconds(1),
        Faults: [FaultKind.PrimaryNodeCrash]);

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Under_cuts_and_server_crashes_every_message_has_one_outcome_and_everyone_who_stayed_got_it_once_in_one_order()
    {
        var verdict = await RunAsync(Options, atLeastDelivered: 100, atLeastCopies: 500);

        // The run must have exercised what it claims: faults of both kinds, traffic, copies and ghosts to check.
        Assert.True(verdict.FaultsInjected.GetValueOrDefault(FaultKind.Cut) > 0 && verdict.FaultsInjected.GetValueOrDefault(FaultKind.ServerCrash) > 0,
            $"faults injected: {string.Join(", ", verdict.FaultsInjected)}");
        Assert.True(verdict.GhostsChecked > 0, "no ghost was checked: the killed server had no users, or nobody else stayed");
    }

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Under_replica_node_crashes_every_message_has_one_outcome_and_the_crashed_hosts_users_get_each_message_once()
    {
        var verdict = await RunAsync(NodeCrashOptions, atLeastDelivered: 50, atLeastCopies: 250);

        Assert.Equal(2, verdict.FaultsInjected.GetValueOrDefault(FaultKind.ReplicaNodeCrash));
    }

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Under_primary_node_crashes_every_message_has_one_outcome_and_every_host_keeps_the_room_s_history()
    {
        var verdict = await RunAsync(PrimaryCrashOptions, atLeastDelivered: 50, atLeastCopies: 250);

        Assert.True(verdict.FaultsInjected.GetValueOrDefault(FaultKind.PrimaryNodeCrash) > 0, $"faults injected: {string.Join(", ", verdict.FaultsInjected)}");
    }

    /// <summary>
    /// Runs the seed on a fresh topology and asserts the checker's verdict, with four newcomers' histories compared, and that
    /// the run had traffic to check: more messages echoed and copies owed than given.
    /// </summary>
    private async Task<ChaosVerdict> RunAsync(ChaosOptions options, int atLeastDelivered, int atLeastCopies)
    {
        await using var topology = await LocalTopology.UpAsync();
        var record = await new ChaosRun(topology, options, new TestOutputWriter(output)).RunAsync();
        var verdict = ChaosChecker.Check(record);
        output.WriteLine(ChaosReport.Format(options, verdict));

        if (!verdict.Passed) output.WriteLine(topology.NodeLogDigest());
        Assert.True(verdict.Passed, string.Join("\n", verdict.Problems) + (verdict.Passed ? "" : "\n" + topology.NodeLogDigest(perLog: 12)));
        Assert.Equal(4, verdict.HistoriesCompared);
        Assert.True(verdict.Delivered > atLeastDelivered && verdict.CopiesChecked > atLeastCopies,
            $"{verdict.Delivered} delivered, {verdict.CopiesChecked} copies checked");
        return verdict;
    }
}
