using Dmuc.Integration.Tests.Muc;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// Prosody's MUC scripts with every client on a replica host: the rooms live on another node behind another
/// Prosody, so each stanza crosses the cluster both ways. Passing them shows the replica is transparent.
/// </summary>
public sealed class ScansionThroughReplicaTests
{
    [Theory]
    [Trait("Category", "Conformance")]
    [MemberData(nameof(ConformanceScripts.Names), MemberType = typeof(ConformanceScripts))]
    public Task Script_passes_with_clients_on_a_replica_host(string scriptName) =>
        ConformanceScripts.AssertRunsAsExpectedAsync(DmucUnderTest.Replicated, ConformanceScripts.Load(scriptName),
            new Dictionary<string, KnownFailure>());
}
