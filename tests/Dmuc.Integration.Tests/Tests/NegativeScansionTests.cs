using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Scansion;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// Scripts that must fail against Prosody's own MUC, proving the runner can fail and says why. Each marks the
/// step that must fail with a comment line "# MUST FAIL HERE: text the failure report must contain".
/// </summary>
public sealed class NegativeScansionTests(ITestOutputHelper output)
{
    private const string Marker = "# MUST FAIL HERE:";

    // Failing "receives" steps wait out the whole timeout; a short one keeps these tests quick.
    private static readonly ScansionOptions QuickOptions = new() { ReceiveTimeout = TimeSpan.FromSeconds(1.5) };

    public static TheoryData<string> Scripts =>
        new(Directory.GetFiles(RepositoryPaths.NegativeScriptsDirectory, "*.scs").Select(Path.GetFileName).OfType<string>().Order());

    [Theory]
    [MemberData(nameof(Scripts))]
    public Task Runner_reports_the_marked_step_as_failing(string fileName) =>
        AssertFailsWhereMarkedAsync(Path.Combine(RepositoryPaths.NegativeScriptsDirectory, fileName),
            async script => (await ConformanceScripts.RunOnFreshServerAsync(MucUnderTest.ProsodyOwnMuc, script, QuickOptions)).Result,
            output);

    /// <summary>Runs the script at <paramref name="path"/> and asserts it fails at the step after its marker, saying why.</summary>
    internal static async Task AssertFailsWhereMarkedAsync(string path, Func<ScansionScript, Task<ScansionResult>> run, ITestOutputHelper output)
    {
        var fileName = Path.GetFileName(path);
        var script = ScansionParser.ParseFile(path);
        var (markerLine, expectedMessage) = FindMarker(path);
        var failingStep = script.Steps.First(step => step.LineNumber > markerLine);

        var result = await run(script);
        output.WriteLine(result.Report); // the report a developer would see; worth reading when changing the runner

        Assert.False(result.Passed, $"{fileName} must fail at line {failingStep.LineNumber}, but passed:\n{string.Join('\n', result.Transcript)}");
        Assert.True(result.Failure.Step == failingStep, $"{fileName} must fail at line {failingStep.LineNumber}:\n{result.Report}");
        Assert.Contains($"{script.Name} failed at line {failingStep.LineNumber}", result.Report);
        Assert.Contains(expectedMessage, result.Report);
        if (failingStep is ReceiveStep)
        {
            Assert.Contains("expected:", result.Report);
            Assert.NotNull(result.Failure.ExpectedXml);
        }
    }

    private static (int Line, string ExpectedMessage) FindMarker(string path)
    {
        var lines = File.ReadAllLines(path);
        var index = Array.FindIndex(lines, line => line.StartsWith(Marker, StringComparison.Ordinal));
        Assert.True(index >= 0, $"{path} has no '{Marker} …' line before the step that must fail");
        return (index + 1, lines[index][Marker.Length..].Trim());
    }
}
