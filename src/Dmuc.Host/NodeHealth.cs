using Akka.Cluster.Hosting;
using Akka.Hosting;
using Dmuc.Actors.Component;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dmuc.Host;

/// <summary>
/// The node's health checks, through Akka.Hosting's: alive while the actor system runs; ready when this node is Up
/// in the cluster (Akka.Cluster.Hosting's check) and its component stream to the XMPP server is in.
/// The management endpoint serves them at /healthz and /ready.
/// </summary>
public static class NodeHealth
{
    public const string Live = "live";
    public const string Ready = "ready";
    public const string ComponentStream = "component-stream";

    /// <param name="ownHostSink">With rooms sharded: a node whose rooms reach its host's users through another node's stream
    /// (the own-host relay) is ready without a stream of its own.</param>
    public static AkkaConfigurationBuilder AddNodeHealthChecks(this AkkaConfigurationBuilder builder, ComponentOutbox outbox, OwnHostSink? ownHostSink) =>
        builder
            .WithActorSystemLivenessCheck(tags: [Live])
            .WithAkkaClusterReadinessCheck(tags: [Ready])
            .WithHealthCheck(ComponentStream, (_, _, _) => Task.FromResult(outbox.IsConnected
                ? HealthCheckResult.Healthy("connected to the XMPP server")
                : ownHostSink?.RelaysThrough is { } holder
                    ? HealthCheckResult.Healthy($"{holder} holds the host's stream: this node's rooms reach its users through it")
                    : HealthCheckResult.Unhealthy("not connected to the XMPP server (reconnecting)")), tags: [Ready]);
}
