using System.Diagnostics;
using Dmuc.Host;

namespace Dmuc.Cli.Tests;

/// <summary>An operator's mistyped setting: the node exits with EX_CONFIG and one line naming it, never a stack trace.</summary>
public sealed class InvalidNodeSettingTests
{
    [Theory]
    [InlineData("--management-url http://0.0.0.0:0",
        "Dmuc:Management:Token (--management-token) is required when the management endpoint listens beyond loopback (http://0.0.0.0:0)")]
    [InlineData("--Dmuc:Multicast:MaxAddresses 1", "Dmuc:Multicast:MaxAddresses must be at least 2")]
    [InlineData("--Dmuc:Replication:PingTimeout -00:00:01",
        "Dmuc:Replication: KeepaliveInterval, PingTimeout and SplitPingInterval must be positive")]
    [InlineData("--Dmuc:Limits:OccupantStanzaBurst -5", "Dmuc:Limits: no limit may be negative (0 turns one off)")]
    [InlineData("--Dmuc:SnapshotEvery 0", "Dmuc:SnapshotEvery must be at least 1")]
    [InlineData("--placement Sharded", "Dmuc:Placement Sharded (--placement) needs a journal the nodes share: --journal PostgreSql")]
    [InlineData("--Dmuc:KeepaliveInterval 00:00:00", "Dmuc:KeepaliveInterval must be positive")]
    [InlineData("--standby", "a standby node (Dmuc:Standby:Enabled) must be a replica: a primary's rooms cannot move to another node yet")]
    [InlineData("--role Replica --host-domain killrc.example --standby",
        "a standby node (Dmuc:Standby:Enabled) needs Dmuc:Seeds: it waits for the cluster to name it")]
    [InlineData("--Dmuc:MaxStanzaBytes lots", "Failed to convert configuration value 'lots' at 'Dmuc:MaxStanzaBytes' to type 'System.Int32'.")]
    public async Task A_node_with_a_setting_it_refuses_exits_with_one_line_naming_the_setting(string setting, string expected)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "dmuc-node"),
            ["--domain", "conference.localhost", "--secret", "s", "--management-url", "", .. setting.Split(' ')])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = node.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = node.StandardError.ReadToEndAsync(timeout.Token);
        await node.WaitForExitAsync(timeout.Token);

        Assert.Equal(InvalidNodeSetting.ExitCode, node.ExitCode);
        Assert.Empty(await output);
        var line = Assert.Single((await error).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("dmuc-node: " + expected, line);
    }
}
