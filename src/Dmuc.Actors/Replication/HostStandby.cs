using Akka.Actor;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Whether this node's component stream should be up, for a node that serves an XMPP host beside others that may serve the
/// same host (a standby: docs/architecture.md, "A host's standby node"). The cluster names one node per host
/// (<see cref="ClusterHosts"/>: the oldest member that proved it may serve it); only that node serves. Another waits while
/// the named one is reachable. Once the named one has been unreachable for <c>takeOverAfter</c> it contends: it tries the
/// handshake with the XMPP server, which Prosody refuses while the named node's stream is still in (a netsplit between Dmuc
/// nodes, not a crash), and once its stream is in it downs the named node, so that the cluster names it instead. Pure: the
/// actor (<see cref="HostStandbyActor"/>) feeds it the cluster as it sees it and carries out its steps.
/// </summary>
/// <param name="startsStandingBy">A standby stays off until the cluster names it; a node that is not one connects at once, as
/// a lone node must, and steps back only if the cluster names another.</param>
public sealed class HostStandby(Address self, TimeSpan takeOverAfter, bool startsStandingBy)
{
    private Address? _unreachable;
    private DateTimeOffset _unreachableSince;

    public abstract record Step;

    /// <summary>The stream is to be up: this node serves the host (or, not a standby, knows of nobody else who does).</summary>
    public sealed record Serve : Step;

    /// <summary>The stream is to be down: <paramref name="Reason"/>.</summary>
    public sealed record StandBy(string Reason) : Step;

    /// <summary>The node serving the host has been unreachable long enough: try the handshake (again), and take over once it is in.</summary>
    public sealed record Contend(Address Serving) : Step;

    /// <summary>This node's stream is in while <paramref name="Serving"/> is unreachable: down it, so the cluster names this node.</summary>
    public sealed record TakeOver(Address Serving) : Step;

    /// <param name="serving">The node the cluster names for this node's host; null while there is none (this node not yet a member).</param>
    /// <param name="servingReachable">Whether that node is reachable as the cluster sees it.</param>
    /// <param name="streamIn">Whether this node's component stream is in now.</param>
    public Step Decide(Address? serving, bool servingReachable, bool streamIn, DateTimeOffset now)
    {
        if (serving is null)
        {
            _unreachable = null;
            return startsStandingBy ? new StandBy("the cluster names no node for the host yet") : new Serve();
        }
        if (serving == self)
        {
            _unreachable = null;
            return new Serve();
        }
        if (servingReachable)
        {
            _unreachable = null;
            return new StandBy($"{serving} serves the host");
        }
        if (_unreachable != serving)
        {
            _unreachable = serving;
            _unreachableSince = now;
        }
        if (now - _unreachableSince < takeOverAfter) return new StandBy($"{serving} serves the host (unreachable since {_unreachableSince:O})");
        return streamIn ? new TakeOver(serving) : new Contend(serving);
    }
}
