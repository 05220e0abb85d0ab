using Dmuc.Integration.Tests.Muc;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The runner against the implementation the scripts were recorded with. If one of these breaks, suspect the
/// runner (or the Prosody setup), not Dmuc.
/// </summary>
public sealed class ScansionAgainstProsodyMucTests
{
    /// <summary>Scripts Debian's Prosody 0.12.3 cannot pass; each must fail, so the runner is seen failing for real.</summary>
    private static readonly Dictionary<string, KnownFailure> KnownFailuresOfProsody012 = new()
    {
        ["muc_outcast_reason"] = new(Line: 59, "the outcast list carries the ban reason only since Prosody 13.0"),
    };

    [Theory]
    [Trait("Category", "Reference")]
    [MemberData(nameof(ConformanceScripts.Names), MemberType = typeof(ConformanceScripts))]
    public Task Script_runs_as_recorded_against_Prosody_own_MUC(string scriptName) =>
        ConformanceScripts.AssertRunsAsExpectedAsync(MucUnderTest.ProsodyOwnMuc, ConformanceScripts.Load(scriptName), KnownFailuresOfProsody012);
}
