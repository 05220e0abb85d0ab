using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Testing;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Deployment;

/// <summary>
/// deploy/single/run.sh as an operator meets it in a terminal: it says it is ready only when a user can get in, and a
/// Ctrl-C stops the node before Prosody, so occupants hear status 332 from the room, and nothing on the way warns.
/// </summary>
public sealed partial class SingleNodeScriptTests(ITestOutputHelper output)
{
    private const string ReadyLine = "Dmuc is ready";
    private const string Room = "lobby@conference.localhost";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    [Trait("Category", "Topology")]
    public async Task Run_says_ready_once_a_user_can_enter_and_ctrl_c_stops_the_node_first_so_occupants_get_332()
    {
        var run = Directory.CreateTempSubdirectory("dmuc-single-run-").FullName;
        var ports = FreeTcpPorts.Pick(3);
        var printed = new ConcurrentQueue<string>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // setsid: the script leads a process group of its own, as a foreground job in a terminal does. env
        // --default-signal: a test run started as a background job inherits SIGINT ignored, which bash cannot trap.
        var script = ChildServer.Start("env", ["--default-signal=INT", "setsid", "bash", Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "single", "run.sh")],
            run, new Dictionary<string, string>
            {
                ["DMUC_SINGLE_RUN_DIR"] = run,
                ["DMUC_NODE_BINARY"] = Path.Combine(AppContext.BaseDirectory, "dmuc-node"),
                ["C2S_PORT"] = ports[0].ToString(),
                ["COMPONENT_PORT"] = ports[1].ToString(),
                ["MANAGEMENT_PORT"] = ports[2].ToString(),
            },
            line =>
            {
                printed.Enqueue(line);
                if (line.StartsWith(ReadyLine, StringComparison.Ordinal)) ready.TrySetResult();
            });
        try
        {
            await ready.Task.WaitAsync(ReadyTimeout);
            Assert.Contains("External component successfully authenticated", await File.ReadAllTextAsync(Path.Combine(run, "prosody.log")));

            // At the ready line, with no waiting: a user logs in and opens a room, another enters it.
            var server = new XmppServerEndpoint("127.0.0.1", ports[0], "localhost");
            await using var alice = await XmppTestClient.ConnectAsync(server, "alice@localhost/laptop", "password");
            await alice.JoinRoomAsync(Room, "Alice");
            await alice.ConfigureRoomAsync(Room);
            await using var bob = await XmppTestClient.ConnectAsync(server, "bob@localhost/phone", "password");
            await bob.JoinRoomAsync(Room, "Bob");

            SendToGroup(script.Id, "INT"); // what Ctrl-C does in a terminal
            foreach (var (occupant, nick) in new[] { (alice, "Alice"), (bob, "Bob") })
            {
                var leave = (await occupant.ReceiveUntilAsync(stanza => (string?)stanza.Attribute("from") == $"{Room}/{nick}"
                    && (string?)stanza.Attribute("type") == "unavailable", StopTimeout))[^1];
                Assert.True(HasStatus(leave, 332), $"{nick} left without status 332 (the node stopped after Prosody?): {leave}");
            }
            using (var exit = new CancellationTokenSource(StopTimeout)) await script.WaitForExitAsync(exit.Token);
            Assert.Equal(0, script.ExitCode);
            Assert.False(await FreeTcpPorts.AcceptsConnectionsAsync(ports[0], CancellationToken.None), "Prosody still listens after the stop");

            var nodeLog = await File.ReadAllLinesAsync(Path.Combine(run, "dmuc-node.log"));
            Assert.DoesNotContain(nodeLog, line => WarningOrWorse().IsMatch(line));
            Assert.Contains(nodeLog, line => line.Contains("Remoting shut down", StringComparison.Ordinal));
        }
        finally
        {
            // xUnit shows this only for a failure: what the script said and what the node logged until then.
            output.WriteLine($"script exited: {script.HasExited}\n{string.Join('\n', printed)}\n--- dmuc-node.log ---\n"
                + (File.Exists(Path.Combine(run, "dmuc-node.log")) ? File.ReadAllText(Path.Combine(run, "dmuc-node.log")) : "(none)"));
            await StopEverythingStartedInAsync(run, script);
            script.Dispose();
            TemporaryFolder.TryDelete(run);
        }
    }

    /// <summary>
    /// A failed run must not leave its node or Prosody behind: they run in sessions of their own, so killing the
    /// script's group does not reach them. The script's own stop comes first, then whatever still runs from the folder.
    /// </summary>
    private static async Task StopEverythingStartedInAsync(string run, Process script)
    {
        if (!script.HasExited)
        {
            SendToGroup(script.Id, "TERM");
            using var stopped = new CancellationTokenSource(StopTimeout);
            try
            {
                await script.WaitForExitAsync(stopped.Token);
            }
            catch (OperationCanceledException)
            {
                SendToGroup(script.Id, "KILL");
            }
        }
        using var leftovers = Process.Start(new ProcessStartInfo("pkill", ["-KILL", "-f", run]) { RedirectStandardError = true })!;
        await leftovers.WaitForExitAsync();
    }

    private static void SendToGroup(int processGroup, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, "--", "-" + processGroup]);
        kill.WaitForExit();
    }

    /// <summary>The node's console lines are "[HH:mm:ss LVL] …".</summary>
    [GeneratedRegex(@"^\[\d\d:\d\d:\d\d (WRN|ERR|FTL)\]")]
    private static partial Regex WarningOrWorse();
}
