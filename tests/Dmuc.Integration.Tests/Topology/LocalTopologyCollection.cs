using Xunit;

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
