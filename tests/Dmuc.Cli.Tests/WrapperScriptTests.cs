using System.Diagnostics;
using Dmuc.Integration.Tests.Infrastructure;

namespace Dmuc.Cli.Tests;

/// <summary>The ./dmuc wrapper at the repository's root: the CLI as built, without a build per call.</summary>
public sealed class WrapperScriptTests
{
    [Fact]
    public async Task Once_built_the_wrapper_runs_the_cli_without_building_and_passes_its_exit_code()
    {
        // The test project built src/Dmuc.Cli (Release) just now, so the wrapper finds nothing newer to build.
        var help = await RunAsync("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Exit codes:", help.Output);
        Assert.DoesNotContain("Building dmuc", help.Error);

        var nobodyListens = $"127.0.0.1:{FreeTcpPorts.Pick(1)[0]}";
        var unreachable = await RunAsync("cluster", "show", "--node", nobodyListens);
        Assert.Equal(ExitCodes.NodeUnreachable, unreachable.ExitCode);
        Assert.Contains("cannot reach", unreachable.Error);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(RepositoryPaths.RepositoryRoot, "dmuc"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
