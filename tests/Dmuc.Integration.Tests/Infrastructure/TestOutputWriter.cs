using System.Text;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Infrastructure;

/// <summary>A <see cref="TextWriter"/> that writes whole lines to a test's output, for code that logs to a writer.</summary>
public sealed class TestOutputWriter(ITestOutputHelper output) : TextWriter
{
    public override Encoding Encoding => Encoding.UTF8;

    public override void WriteLine(string? value) => output.WriteLine(value ?? "");
}
