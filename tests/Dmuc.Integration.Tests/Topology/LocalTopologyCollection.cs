using Xunit;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("Dmuc.Integration.Tests.Topology.LocalTopologyFirst", "Dmuc.Integration.Tests")]

namespace Dmuc.Integration.Tests.Topology;

/// <summary>
/// The tests that start the four-host topology (eight processes) run one at a time: two starting together on a
/// two-core machine starve each other's nodes of the CPU their cluster heartbeats and TLS handshakes need. They still
/// run beside the other collections.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LocalTopologyCollection
{
    public const string Name = "Local topology";
}

/// <summary>
/// Starts the topology tests' collection first: it is the longest chain of tests that cannot run side by side, so the
/// others fill the second thread around it instead of leaving it to run alone at the end.
/// </summary>
public sealed class LocalTopologyFirst : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(collection => collection.DisplayName != LocalTopologyCollection.Name)
            .ThenBy(collection => collection.DisplayName, StringComparer.Ordinal);
}
