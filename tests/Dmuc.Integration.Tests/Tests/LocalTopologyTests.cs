using System.Text.Json;
using Dmuc.Cli;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Management.Contracts;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>deploy/local/up.sh brings up XEP-0282's four hosts, a real room works across them, down.sh leaves nothing behind.</summary>
[Collection(LocalTopologyCollection.Name)]
public sealed class LocalTopologyTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Topology")]
    public async Task Up_starts_four_hosts_whose_users_share_a_room_and_down_stops_every_process()
    {
        await using var topology = await LocalTopology.UpAsync();
        output.WriteLine(topology.UpOutput);
        var description = topology.Description;
        Assert.Equal(["avalon.irc", "killrc.oulubox.irc", "eris.dclxvii.irc", "vesa.yeggmaex.irc"],
            description.Hosts.Select(host => host.Domain));
        Assert.Equal("wallops@channel.avalon.irc", description.Room);
        Assert.Equal(["primary", "replica", "replica", "replica"], description.Hosts.Select(host => host.Node.Role));

        await AssertUsersOfEveryHostShareTheRoomAsync(topology);
        await AssertNetsplitDrillsAreOnAsync(topology);
        await AssertTheCliFindsTheTopologyWithoutFlagsAsync(topology);
        await AssertHealFailsWhileANodeDoesNotAnswerAsync(topology);

        output.WriteLine(await topology.DownAsync());
        Assert.False(File.Exists(Path.Combine(topology.RunDirectory, "started.pids")), "down.sh should forget what it stopped");
        foreach (var host in description.Hosts)
        {
            Assert.False(LocalTopology.IsRunning(host.Node.Pid), $"{host.Node.Name} (pid {host.Node.Pid}) is still running");
            Assert.False(LocalTopology.IsRunning(host.Prosody.Pid), $"{host.Domain}'s Prosody (pid {host.Prosody.Pid}) is still running");
            Assert.False(await FreeTcpPorts.AcceptsConnectionsAsync(host.C2s.Port, CancellationToken.None),
                $"something still listens on {host.Domain}'s c2s port {host.C2s.Port}");
        }
        Assert.Contains("Nothing to stop", await topology.DownAsync()); // idempotent
    }

    private static async Task AssertUsersOfEveryHostShareTheRoomAsync(LocalTopology topology)
    {
        var room = topology.Description.Room;
        // The first to enter creates the room; as its owner, it has to unlock it by configuring it.
        await using var admin = await ConnectAsync(topology, "avalon.irc", "admin");
        await admin.JoinRoomAsync(room, "admin");
        await admin.ConfigureRoomAsync(room);
        await using var argl = await ConnectAsync(topology, "killrc.oulubox.irc", "argl");
        await argl.JoinRoomAsync(room, "Wumpus");
        await using var squit = await ConnectAsync(topology, "eris.dclxvii.irc", "squit");
        await squit.JoinRoomAsync(room, "WiZ");
        await using var rubenro = await ConnectAsync(topology, "vesa.yeggmaex.irc", "rubenro");
        await rubenro.JoinRoomAsync(room, "BigCheese");

        const string body = "Phaedrus, we're all having a truly rotten time.";
        await rubenro.SayAsync(room, body);
        foreach (var listener in new[] { argl, squit, admin })
        {
            var received = (await listener.ReceiveUntilAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, body)))[^1];
            Assert.Equal($"{room}/BigCheese", (string?)received.Attribute("from"));
        }
    }

    /// <summary>up.sh makes a drill environment: any node cuts and heals links between hosts.</summary>
    private static async Task AssertNetsplitDrillsAreOnAsync(LocalTopology topology)
    {
        var (avalon, vesa) = (topology.Description.Host("avalon.irc"), topology.Description.Host("vesa.yeggmaex.irc"));
        using var eris = new ManagementClient(new Uri(topology.Description.Host("eris.dclxvii.irc").Node.ManagementAddress!), token: null);
        var cut = await eris.PostAsync<NetsplitCutDone>(NetsplitApi.Cut, new NetsplitCutRequest(avalon.Domain, vesa.Domain), CancellationToken.None);
        Assert.Equal((avalon.Node.ClusterAddress, vesa.Node.ClusterAddress), (cut.A.Node, cut.B.Node));
        var heal = await eris.PostAsync<NetsplitHealDone>(NetsplitApi.Heal, null, CancellationToken.None);
        Assert.Equal([vesa.Domain], heal.Nodes.Single(node => node.Host == avalon.Domain).HealedLinksTo);
        Assert.Equal([avalon.Domain], heal.Nodes.Single(node => node.Host == vesa.Domain).HealedLinksTo);
    }

    /// <summary>As an operator runs it after up.sh: no --node, no token; the CLI asks the topology's primary.</summary>
    private async Task AssertTheCliFindsTheTopologyWithoutFlagsAsync(LocalTopology topology)
    {
        var cluster = await DmucAsync(topology, "cluster", "show", "--json");
        Assert.True(cluster.ExitCode == ExitCodes.Ok, cluster.Error);
        var view = JsonSerializer.Deserialize<ClusterView>(cluster.Output, ManagementApi.Json)!;
        Assert.Equal(topology.Description.Hosts.Select(host => host.Node.ClusterAddress).Order(), view.Members.Select(member => member.Address).Order());
        Assert.Equal(topology.Description.Host("avalon.irc").Node.ClusterAddress, view.Self);

        var table = await DmucAsync(topology, "cluster", "show");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.All(topology.Description.Hosts, host => Assert.Contains(host.Domain, table.Output));
    }

    /// <summary>A node that cannot answer (stopped with SIGSTOP) may keep its cuts: heal says so and exits with 2.</summary>
    private async Task AssertHealFailsWhileANodeDoesNotAnswerAsync(LocalTopology topology)
    {
        var eris = topology.Description.Host("eris.dclxvii.irc").Node;
        Signal(eris.Pid, "STOP");
        try
        {
            var heal = await DmucAsync(topology, "netsplit", "heal");
            Assert.Equal(ExitCodes.NodeUnreachable, heal.ExitCode);
            Assert.Contains("NO ANSWER", heal.Output);
        }
        finally
        {
            Signal(eris.Pid, "CONT");
        }
        // Once it runs again and the cluster hears it, the same heal succeeds.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await DmucAsync(topology, "netsplit", "heal")).ExitCode != ExitCodes.Ok)
        {
            Assert.True(DateTime.UtcNow < deadline, "netsplit heal still failed 30 s after eris's node was resumed");
            await Task.Delay(500);
        }
    }

    /// <summary>The dmuc command with the environment an operator's shell has after up.sh (DMUC_LOCAL_RUN_DIR only if the topology is not in deploy/local/run).</summary>
    private async Task<(int ExitCode, string Output, string Error)> DmucAsync(LocalTopology topology, params string[] args)
    {
        var (printed, complaints) = (new StringWriter(), new StringWriter());
        Func<string, string?> environment = name => name == NodeLocator.LocalRunDirectoryVariable ? topology.RunDirectory : null;
        var exitCode = await new DmucCli(printed, complaints, environment).InvokeAsync(args);
        output.WriteLine($"$ dmuc {string.Join(' ', args)}\n{printed}{complaints}(exit {exitCode})");
        return (exitCode, printed.ToString(), complaints.ToString());
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit();
    }

    private static async Task<XmppTestClient> ConnectAsync(LocalTopology topology, string domain, string user)
    {
        var host = topology.Description.Host(domain);
        var account = host.Users.Single(account => account.Jid == $"{user}@{domain}");
        return await XmppTestClient.ConnectAsync(topology.ClientEndpoint(host), account.Jid, account.Password);
    }
}
