using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Scansion;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>Prosody's 14 MUC scansion scripts, and how to play one against a MUC on a fresh server.</summary>
public static class ConformanceScripts
{
    public static IReadOnlyList<string> AllNames =>
        Directory.GetFiles(RepositoryPaths.ConformanceScriptsDirectory, "*.scs")
            .Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal).ToList();

    public static TheoryData<string> Names => new(AllNames);

    public static ScansionScript Load(string name) =>
        ScansionParser.ParseFile(Path.Combine(RepositoryPaths.ConformanceScriptsDirectory, name + ".scs"));

    /// <summary>
    /// Plays <paramref name="script"/> on a new Prosody + MUC (so no rooms exist) and asserts the outcome:
    /// it must pass, unless <paramref name="knownFailures"/> names it — then it must fail at the listed step,
    /// so the list stays true and an earlier, unexpected failure is not mistaken for the known one.
    /// </summary>
    public static async Task AssertRunsAsExpectedAsync(MucUnderTest muc, ScansionScript script,
        IReadOnlyDictionary<string, KnownFailure> knownFailures, ScansionOptions? options = null)
    {
        var (result, serverDiagnostics) = await RunOnFreshServerAsync(muc, script, options);
        if (!knownFailures.TryGetValue(script.Name, out var known))
        {
            Assert.True(result.Passed, $"{result.Report}\n{serverDiagnostics}");
            return;
        }
        Assert.False(result.Passed, $"{script.Name} is listed as failing against {muc} ({known.Reason}) but passed: update the list.");
        Assert.True(result.Failure.Step.LineNumber == known.Line,
            $"{script.Name} should fail at line {known.Line} ({known.Reason}), not here:\n{result.Report}\n{serverDiagnostics}");
    }

    /// <summary>The result, and Prosody's console and log tail (taken before the server and its folder go away).</summary>
    public static async Task<(ScansionResult Result, string ServerDiagnostics)> RunOnFreshServerAsync(
        MucUnderTest muc, ScansionScript script, ScansionOptions? options = null)
    {
        await using var environment = await MucTestEnvironment.StartAsync(muc);
        var result = await new ScansionRunner(environment.ClientEndpoint, options).RunAsync(script);
        return (result, result.Passed ? "" : environment.Prosody.DescribeForFailure());
    }
}

/// <summary>A script the MUC under test is known not to pass: the line of the step that fails, and why.</summary>
public sealed record KnownFailure(int Line, string Reason);
