using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Dmuc.Actors.Component;
using Dmuc.Credentials;
using Dmuc.Host;
using Dmuc.Integration.Tests.Infrastructure;

namespace Dmuc.Cli.Tests;

/// <summary>
/// A node whose outbound TLS handshake fails (a peer that died during it) is shut down by Akka.Remote: it starts again, in a
/// fresh image of its process (<see cref="ProcessImage"/>), a bounded number of times (<see cref="ActorSystemRestarts"/>).
/// </summary>
public sealed class ActorSystemRestartsTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_TLS_handshake_failure_restarts_up_to_the_limit_within_the_window_and_again_once_the_window_has_passed()
    {
        var restarts = new ActorSystemRestarts(limit: 2, window: TimeSpan.FromMinutes(10));
        var failure = new HandshakeFailure();

        Assert.True(restarts.ShouldRestart(failure, Start));
        Assert.True(restarts.ShouldRestart(failure, Start.AddMinutes(1)));
        Assert.False(restarts.ShouldRestart(failure, Start.AddMinutes(9)));
        Assert.True(restarts.ShouldRestart(failure, Start.AddMinutes(10)));
    }

    [Fact]
    public void The_count_of_restarts_carries_over_to_the_next_image_of_the_process()
    {
        var before = new ActorSystemRestarts(limit: 3, window: TimeSpan.FromMinutes(10));
        var failure = new HandshakeFailure();
        before.ShouldRestart(failure, Start);
        before.ShouldRestart(failure, Start.AddMinutes(1));

        var after = ActorSystemRestarts.FromEarlierImage(before.Recent);

        Assert.True(after.ShouldRestart(failure, Start.AddMinutes(2)));
        Assert.False(after.ShouldRestart(failure, Start.AddMinutes(3)));
        Assert.True(ActorSystemRestarts.FromEarlierImage(null).ShouldRestart(failure, Start));
    }

    [Fact]
    public void Every_other_shutdown_ends_the_process()
    {
        var restarts = ActorSystemRestarts.Default;

        Assert.False(restarts.ShouldRestart(null, Start));
        Assert.False(restarts.ShouldRestart(CoordinatedShutdown.ClrExitReason.Instance, Start));
        Assert.False(restarts.ShouldRestart(CoordinatedShutdown.ClusterDowningReason.Instance, Start));
        Assert.False(restarts.ShouldRestart(CoordinatedShutdown.ClusterLeavingReason.Instance, Start));
    }

    /// <summary>
    /// Its only seed accepts each connection and closes it before the TLS handshake ends, as a node killed during one does:
    /// each time, Akka.Remote shuts the actor system down; the node starts it again three times, then exits with Akka's
    /// code for it.
    /// </summary>
    [Fact]
    public async Task A_node_whose_peer_closes_every_TLS_handshake_starts_its_actor_system_again_three_times_then_exits_79()
    {
        var folder = Directory.CreateTempSubdirectory("dmuc-restarts-").FullName;
        try
        {
            using var peer = new TcpListener(IPAddress.Loopback, 0);
            peer.Start();
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var dying = CloseEveryConnectionAsync(peer, stop.Token);
            var node = StartReplica(folder, seedPort: ((IPEndPoint)peer.LocalEndpoint).Port);
            var output = node.StandardOutput.ReadToEndAsync(stop.Token);
            var errors = node.StandardError.ReadToEndAsync(stop.Token);
            await node.WaitForExitAsync(stop.Token);
            await stop.CancelAsync();
            await dying;
            var printed = await output + await errors;

            Assert.True(RestartingShutdown.TlsHandshakeFailureExitCode == node.ExitCode, $"exit code {node.ExitCode}:\n{printed}");
            // Each restart is a fresh image of the same process (its count carried over), which leaves no connection of the old system behind.
            Assert.Equal(3, printed.Split('\n').Count(line => line.Contains("starting it again in a fresh image of this process")));
            Assert.DoesNotContain("could not start afresh", printed);
            Assert.Equal(4, printed.Split('\n').Count(line => line.Contains("Remoting started")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Process StartReplica(string folder, int seedPort)
    {
        var tls = Path.Combine(folder, "tls");
        var authority = CredentialFiles.EnsureAuthority(tls, "test authority", TimeSpan.FromDays(1));
        CredentialFiles.IssueNode(tls, authority, NodeClaims.For("killrc", ["killrc.example"], []), TimeSpan.FromDays(1));
        var ports = FreeTcpPorts.Pick(2);
        return Process.Start(new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "dmuc-node"),
        [
            "--domain", "conference.avalon.example", "--secret", "s", "--server", $"127.0.0.1:{ports[0]}", "--management-url", "",
            "--role", "Replica", "--host-domain", "killrc.example", "--data", folder,
            "--cluster-host", "127.0.0.1", "--cluster-port", ports[1].ToString(), "--seed", $"akka.ssl.tcp://dmuc@127.0.0.1:{seedPort}",
            "--tls-cert", CredentialFiles.CertificatePath(tls, "killrc"), "--tls-key", CredentialFiles.KeyPath(tls, "killrc"),
            "--tls-ca", CredentialFiles.CertificatePath(tls, CredentialFiles.AuthorityName),
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
    }

    private static async Task CloseEveryConnectionAsync(TcpListener peer, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var connection = await peer.AcceptTcpClientAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Akka.Remote's reason (an internal type) as this node tells it apart: by its exit code.</summary>
    private sealed class HandshakeFailure : CoordinatedShutdown.Reason
    {
        public override int ExitCode => RestartingShutdown.TlsHandshakeFailureExitCode;
    }
}
