using System.Text.Json;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli.Tests;

/// <summary>What one in-process run of the dmuc command printed, and how it exited.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static async Task<CliRun> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        // No DMUC_NODE or DMUC_TOKEN from the machine running the tests, nor its local topology or a node at the default
        // address: without --node, the CLI asks a port where nothing listens.
        var locator = new NodeLocator(_ => null, Path.GetTempPath(), $"http://127.0.0.1:{FreeTcpPorts.Pick(1)[0]}");
        var exitCode = await new DmucCli(output, error, _ => null, locator: locator).InvokeAsync(args);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }

    public T Json<T>()
    {
        Assert.True(ExitCode == ExitCodes.Ok, $"exit code {ExitCode}: {Error}");
        return JsonSerializer.Deserialize<T>(Output, ManagementApi.Json)!;
    }
}
