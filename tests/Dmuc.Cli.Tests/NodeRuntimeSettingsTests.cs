using System.Text.Json;

namespace Dmuc.Cli.Tests;

/// <summary>
/// The runtime settings a node process starts with (Directory.Build.targets): each was measured to matter on a busy
/// 2-core host (docs/benchmarks.md, issue 11), and test hosts keep the defaults, so nothing else would notice one lost.
/// </summary>
public sealed class NodeRuntimeSettingsTests
{
    [Theory]
    [InlineData("System.Runtime.TieredCompilation", "false")]
    [InlineData("System.Runtime.TieredPGO", "false")]
    [InlineData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", "0")]
    public void The_node_process_starts_with_the_measured_runtime_setting(string name, string expected)
    {
        Assert.True(SettingsOf("dmuc-node").TryGetProperty(name, out var value), $"{name} is not set for dmuc-node");
        Assert.Equal(expected, value.ToString().ToLowerInvariant());
    }

    /// <summary>
    /// A test host runs many nodes for a short while, and the CLI runs for a moment: compiling everything fully would
    /// only slow them down.
    /// </summary>
    [Theory]
    [InlineData("Dmuc.Cli.Tests")]
    [InlineData("dmuc")]
    public void A_short_lived_program_keeps_the_runtime_default_tiering(string program)
    {
        Assert.False(SettingsOf(program).TryGetProperty("System.Runtime.TieredCompilation", out _));
    }

    private static JsonElement SettingsOf(string program)
    {
        using var runtimeConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, $"{program}.runtimeconfig.json")));
        return runtimeConfig.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }
}
