using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Prosody;
using Xunit;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>Dmuc as the MUC under test: a Dmuc node connected to Prosody as the conference.localhost component.</summary>
public static class DmucUnderTest
{
    /// <summary>The host of the primary in <see cref="Replicated"/>: its own Prosody, which no test client uses.</summary>
    public const string PrimaryHost = "avalon.localhost";

    /// <summary>The node setting that turns multicast off.</summary>
    public static IReadOnlyDictionary<string, string?> WithoutMulticast { get; } =
        new Dictionary<string, string?> { ["Dmuc:Multicast:Enabled"] = "false" };

    /// <summary>One node that is the primary of every room; broadcasts go through Prosody's mod_dmuc_multicast.</summary>
    public static MucUnderTest Muc { get; } = MucUnderTest.ExternalComponent("Dmuc", StartNodeAsync);

    /// <summary>The same node with multicast turned off: every broadcast leaves one stanza per recipient.</summary>
    public static MucUnderTest MucWithoutMulticast { get; } = MucUnderTest.ExternalComponent("Dmuc without multicast",
        async (endpoint, cancellationToken) => await InProcessDmucNode.StartAsync(endpoint, WithoutMulticast, cancellationToken));

    /// <summary>
    /// The clients' Prosody is served by a REPLICA node; the rooms' primary is a second node behind a second
    /// Prosody (host avalon.localhost). Every stanza a client sends crosses the cluster to the primary and every
    /// stanza it receives comes back in a replica batch: a user must not be able to tell (XEP-0282 §2).
    /// </summary>
    public static MucUnderTest Replicated { get; } = MucUnderTest.ExternalComponent("Dmuc replica", StartReplicatedAsync);

    /// <summary>Names for a theory over both ways users reach Dmuc: one node, or a replica host (<see cref="Replicated"/>).</summary>
    public static TheoryData<string> OneNodeAndReplicaHost => ["one node", "replica host"];

    /// <summary>The deployment a name of <see cref="OneNodeAndReplicaHost"/> stands for.</summary>
    public static MucUnderTest Deployment(string name) => name == "replica host" ? Replicated : Muc;

    /// <summary>
    /// Starts a fresh node (empty journal: every script expects no rooms) connected to the test Prosody as the
    /// conference.localhost component; disposing stops it (occupants get 332) and removes its data.
    /// </summary>
    public static async Task<IAsyncDisposable> StartNodeAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken) =>
        await InProcessDmucNode.StartAsync(endpoint, new Dictionary<string, string?>(), cancellationToken);

    private static async Task<IAsyncDisposable> StartReplicatedAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken)
    {
        // Stopped in reverse order, also when a later step fails: a failed start must not leave a Prosody behind.
        var started = new Stack<IAsyncDisposable>();
        try
        {
            var primaryProsody = await ProsodyServer.StartAsync(
                new ProsodyOptions(MucHosting.ExternalComponent) { Domain = PrimaryHost, LogLevel = "info" }, cancellationToken);
            started.Push(primaryProsody);
            var clusterPort = FreeTcpPorts.Pick(1)[0];
            var primary = await InProcessDmucNode.StartAsync(primaryProsody.ComponentEndpoint,
                InProcessDmucNode.PrimarySettings(PrimaryHost, clusterPort), cancellationToken);
            started.Push(primary);
            await primaryProsody.WaitForComponentAsync(TimeSpan.FromSeconds(30), cancellationToken);
            var replica = await InProcessDmucNode.StartAsync(endpoint,
                InProcessDmucNode.ReplicaSettings("localhost", clusterPort), cancellationToken);
            started.Push(replica);
            await InProcessDmucNode.WaitUntilClusterFormedAsync(primary,
                new Dictionary<string, InProcessDmucNode> { ["localhost"] = replica }, cancellationToken);
            return AsyncDisposable.Create(() => new ValueTask(StopAllAsync(started)));
        }
        catch
        {
            await StopAllAsync(started);
            throw;
        }
    }

    private static async Task StopAllAsync(Stack<IAsyncDisposable> started)
    {
        while (started.TryPop(out var next)) await next.DisposeAsync();
    }
}
