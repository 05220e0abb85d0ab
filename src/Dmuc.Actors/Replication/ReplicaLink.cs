using Akka.Actor;
using Akka.Event;
using Dmuc.Actors.Component;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's side of one replica: a child of the room actor per remote XMPP host that has occupants.
/// Numbers the room's batches for that host and sends each as one message to the host's node.
/// </summary>
public sealed class ReplicaLink : ReceiveActor
{
    private readonly Jid _room;
    private readonly string _host;
    private readonly ClusterHosts _hosts;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _sequence;

    public ReplicaLink(Jid room, string host, ClusterHosts hosts)
    {
        _room = room;
        _host = host;
        _hosts = hosts;
        Receive<ReplicateToHost>(HandleReplicate);
        Receive<InspectLink>(_ => Sender.Tell(new LinkInspection(_host, _sequence, _hosts.Hosts.GetValueOrDefault(_host)?.ToString())));
    }

    public static Props Props(Jid room, string host, ClusterHosts hosts) =>
        Akka.Actor.Props.Create(() => new ReplicaLink(room, host, hosts));

    public static string NameFor(string host) => "replica-" + Uri.EscapeDataString(host);

    /// <summary>
    /// Sends a plan on behalf of <paramref name="owner"/> (a room, or the service itself): local deliveries to
    /// the sink, each replica host's items as one batch through the owner's link child for that host.
    /// </summary>
    public static void Dispatch(IActorContext context, Jid owner, ReplicationPlanner.Plan plan, IStanzaSink sink, ClusterHosts hosts)
    {
        sink.Send(plan.Local);
        foreach (var (host, items) in plan.ByHost)
        {
            var name = NameFor(host);
            var link = context.Child(name);
            if (link.IsNobody()) link = context.ActorOf(Props(owner, host, hosts), name);
            link.Tell(new ReplicateToHost(items));
        }
    }

    private void HandleReplicate(ReplicateToHost replicate)
    {
        var node = _hosts.Hosts.GetValueOrDefault(_host);
        if (node is null)
        {
            _log.Warning("Room {0}: host {1} has no node any more; {2} stanzas not replicated", _room, _host, replicate.Items.Count);
            return;
        }
        var batch = new ReplicaBatch(_room, _host, ++_sequence, replicate.Items);
        Context.ActorSelection(new RootActorPath(node) / "user" / ReplicaDirectory.Name).Tell(batch, Context.Parent);
    }

    /// <summary>The room's items for this link's host, from one command.</summary>
    public sealed record ReplicateToHost(IReadOnlyList<ReplicaItem> Items);

    public sealed class InspectLink
    {
        public static readonly InspectLink Instance = new();
    }

    public sealed record LinkInspection(string Host, long BatchesSent, string? Node);
}
