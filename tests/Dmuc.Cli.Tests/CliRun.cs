using System.Text.Json;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli.Tests;

/// <summary>What one in-process run of the dmuc command printed, and how it exited.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static async Task<CliRun> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        // No DMUC_NODE or DMUC_TOKEN from the machine running the tests.
        var exitCode = await new DmucCli(output, error, _ => null).InvokeAsync(args);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }

    public T Json<T>()
    {
        Assert.True(ExitCode == ExitCodes.Ok, $"exit code {ExitCode}: {Error}");
        return JsonSerializer.Deserialize<T>(Output, ManagementApi.Json)!;
    }
}
