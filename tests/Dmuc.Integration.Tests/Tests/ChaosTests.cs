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
    /// Only the faults today's code survives: a kill -9 of a Dmuc node, replica or primary, is left out because a
    /// restarted node does not rejoin its cluster (the old incarnation stays an unreachable member, and the new one's
    /// joins are not answered), so its host's users lose messages and are dropped from the room without being told.
    /// docs/benchmarks.md#chaos has the seeds that show it; add the kinds here once that is fixed.
    /// </remarks>
    private static readonly ChaosOptions Options = new(Seed: 55, Duration: TimeSpan.FromSeconds(40), MessageInterval: TimeSpan.FromSeconds(1),
        Faults: [FaultKind.Cut, FaultKind.ServerCrash]);

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Under_cuts_and_server_crashes_every_message_has_one_outcome_and_everyone_who_stayed_got_it_once_in_one_order()
    {
        await using var topology = await LocalTopology.UpAsync();
        var record = await new ChaosRun(topology, Options, new TestOutputWriter(output)).RunAsync();
        var verdict = ChaosChecker.Check(record);
        output.WriteLine(ChaosReport.Format(Options, verdict));

        Assert.True(verdict.Passed, string.Join("\n", verdict.Problems));
        // The run must have exercised what it claims: faults of both kinds, traffic, copies and ghosts to check.
        Assert.True(verdict.FaultsInjected.GetValueOrDefault(FaultKind.Cut) > 0 && verdict.FaultsInjected.GetValueOrDefault(FaultKind.ServerCrash) > 0,
            $"faults injected: {string.Join(", ", verdict.FaultsInjected)}");
        Assert.True(verdict.Delivered > 100 && verdict.CopiesChecked > 500, $"{verdict.Delivered} delivered, {verdict.CopiesChecked} copies checked");
        Assert.True(verdict.GhostsChecked > 0, "no ghost was checked: the killed server had no users, or nobody else stayed");
        Assert.Equal(4, verdict.HistoriesCompared);
    }
}
