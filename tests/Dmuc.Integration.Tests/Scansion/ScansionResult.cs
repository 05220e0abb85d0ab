using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Xml.Linq;

namespace Dmuc.Integration.Tests.Scansion;

public sealed record ScansionResult(ScansionScript Script, ScansionFailure? Failure, TimeSpan Elapsed, IReadOnlyList<string> Transcript)
{
    private const int TranscriptLinesInReport = 12;

    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Passed => Failure is null;

    /// <summary>One line when passed; otherwise where and why it failed, what was expected and what came instead.</summary>
    public string Report => Failure is null
        ? $"{Script.Name}: passed ({Script.Steps.Count} steps, {Elapsed.TotalSeconds:0.00} s)"
        : DescribeFailure(Failure);

    private string DescribeFailure(ScansionFailure failure)
    {
        var report = new StringBuilder()
            .AppendLine($"Scansion script {Script.Name} failed at line {failure.Step.LineNumber} ({failure.Step.Describe()}): {failure.Reason}")
            .AppendLine($"  script: {Script.Path}");
        if (failure.ExpectedXml is not null)
        {
            report.AppendLine("  expected:").AppendLine(Indent(failure.ExpectedXml, "    "));
        }
        report.AppendLine(failure.Skipped.Count == 0
            ? "  received and skipped: nothing"
            : $"  received and skipped ({failure.Skipped.Count}), with the first difference from the expected stanza:");
        foreach (var (skipped, index) in failure.Skipped.Select((skipped, index) => (skipped, index + 1)))
        {
            report.AppendLine($"    [{index}] differs at {skipped.Mismatch}")
                .AppendLine(Indent(ScansionXml.WithoutIndentation(skipped.Stanza).ToString(), "        "));
        }
        report.AppendLine($"  last steps before the failure:");
        foreach (var line in Transcript.TakeLast(TranscriptLinesInReport))
        {
            report.AppendLine("    " + line);
        }
        return report.ToString();
    }

    private static string Indent(string text, string prefix) =>
        string.Join('\n', text.Split('\n').Select(line => prefix + line.TrimEnd('\r')));
}

/// <summary>The step that failed, why, its expected stanza (resolved) and the stanzas passed over while waiting.</summary>
public sealed record ScansionFailure(ScansionStep Step, string Reason, string? ExpectedXml, IReadOnlyList<SkippedStanza> Skipped);

/// <summary>A stanza that arrived while waiting and did not match, with the first difference found.</summary>
public sealed record SkippedStanza(XElement Stanza, string Mismatch);
