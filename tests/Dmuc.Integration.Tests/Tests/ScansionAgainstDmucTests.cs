using Dmuc.Integration.Tests.Muc;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>Prosody's MUC scripts against Dmuc, connected to Prosody as the conference.localhost component, with multicast and without.</summary>
public sealed class ScansionAgainstDmucTests
{
    /// <summary>Scripts Dmuc deliberately does not pass, with the reason (keep in step with the README's table).</summary>
    private static readonly Dictionary<string, KnownFailure> KnownFailuresOfDmuc = new();

    [Theory]
    [Trait("Category", "Conformance")]
    [MemberData(nameof(ConformanceScripts.Names), MemberType = typeof(ConformanceScripts))]
    public Task Script_passes_against_Dmuc(string scriptName) =>
        ConformanceScripts.AssertRunsAsExpectedAsync(DmucUnderTest.Muc, ConformanceScripts.Load(scriptName), KnownFailuresOfDmuc);

    [Theory]
    [Trait("Category", "Conformance")]
    [MemberData(nameof(ConformanceScripts.Names), MemberType = typeof(ConformanceScripts))]
    public Task Script_passes_against_Dmuc_without_multicast(string scriptName) =>
        ConformanceScripts.AssertRunsAsExpectedAsync(DmucUnderTest.MucWithoutMulticast, ConformanceScripts.Load(scriptName), KnownFailuresOfDmuc);
}
