using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

public sealed class XepListingTests(WallopsScenario scenario, ITestOutputHelper output) : IClassFixture<WallopsScenario>
{
    [Fact]
    public void Dump()
    {
        foreach (var (name, step) in new[] { ("Efchen", scenario.EfchenEnters), ("BCHist", scenario.BigCheeseEntersWithHistoryRequest), ("BCLeave", scenario.BigCheeseLeaves), ("BCEnter", scenario.BigCheeseEnters), ("BCSpeak", scenario.BigCheeseSpeaks), ("BCAway", scenario.BigCheeseGoesAway) })
        {
            foreach (var host in ReplicaHosts)
            {
                output.WriteLine($"===== {name} wire to {host} ({step.BatchesTo(host).Count} batches)");
                foreach (var x in step.WireTo(host)) output.WriteLine(x.ToString());
                output.WriteLine($"===== {name} delivered on {host}");
                foreach (var x in step.DeliveredOn(host)) output.WriteLine(x.ToString());
            }
        }
    }
}
