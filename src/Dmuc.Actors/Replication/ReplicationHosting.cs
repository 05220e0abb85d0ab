using Akka.Cluster;
using Akka.Hosting;
using Dmuc.Actors.Security;
using Dmuc.Credentials;

namespace Dmuc.Actors.Replication;

public static class ReplicationHosting
{
    /// <summary>
    /// The serializer and bindings for the primary/replica messages, for actor systems built without
    /// Akka.Hosting (tests): the same settings <see cref="AddDmucReplication"/> installs.
    /// </summary>
    public static string ProtocolSerializerHocon { get; } = RenderProtocolSerializerHocon();

    /// <summary>
    /// A netsplit is the application's business, not the cluster's (docs/protocol/netjoin.md): the failure
    /// detector may call a replica node unreachable, but nothing downs it automatically, so the replica keeps
    /// serving its users through the split and rejoins when the link heals. Only primary-capable nodes are downed,
    /// by <see cref="Placement.PrimaryDowning"/> and only when a domain's rooms are sharded over several of them, so that
    /// a room never has two primaries. Nodes joining during a split
    /// become WeaklyUp and are served. The keepalive timings are XEP-0282 §4.10's (ReplicationSettings).
    /// </summary>
    public static readonly string SplitToleranceHocon = Placement.PrimaryDowning.Hocon + """
        akka.cluster {
          auto-down-unreachable-after = off
          allow-weakly-up-members = 7s
          # A downed primary's rooms move once the leader has removed it, which waits until every reachable member has
          # seen the Down (gossip) and for the leader's next round; the reaper turns the failure detector's verdict into
          # an unreachable member. Twice a second instead of Akka's once (docs/operations.md, "Failover timings").
          gossip-interval = 500ms
          leader-actions-interval = 500ms
          unreachable-nodes-reaper-interval = 500ms
        }
        dmuc.replication {
          keepalive-interval = 15s
          ping-timeout = 10s
          split-ping-interval = 2s
          show-split-users-away = off
          # what a split replica serves its users itself (XEP-0282 §4.11.1 MAYs; docs/protocol/netjoin.md §2)
          split-local-chat = on
          split-private-messages = on
          split-kicks = on
          split-mark-others-away = off
          split-entries = off
        }
        """;

    /// <summary>
    /// Akka.Remote tuned for replica batches. Its transport holds writes back (up to ~40 ms when traffic is light)
    /// to batch them; every stanza of a replica's user crosses the cluster twice (forward, then batch), so that
    /// would add up to 80 ms to each message, and Dmuc already sends one batch per command per host. Its default
    /// 128 kB frame limit silently drops the batch that brings an entering user the roster of a room of a few
    /// hundred occupants (about 380 bytes per occupant), so frames may be as large as 16 MiB (some 40,000
    /// occupants). An association whose peer went silent while its connection stayed open (the peer's actor system
    /// restarted in its process and left the old connection behind) is given up after 34 s of silence instead of Akka's
    /// 124 s: until then the peer's next incarnation cannot join, and the cluster waits for it (docs/protocol/netjoin.md §7,
    /// two minutes without a primary in a chaos run). Longer than the cluster's failure detector, which finds a split.
    /// </summary>
    public const string RemotingHocon = """
        akka.remote.dot-netty.tcp {
          batching.enabled = false
          maximum-frame-size = 16MiB
          send-buffer-size = 4MiB
          receive-buffer-size = 4MiB
        }
        akka.remote.transport-failure-detector {
          heartbeat-interval = 4s
          acceptable-heartbeat-pause = 30s
        }
        """;

    /// <summary>
    /// What every node of a DMUC cluster runs besides its rooms: the serializer for the primary/replica
    /// messages, the view of which node serves which XMPP host, and the replica directory. A node started
    /// without seed nodes forms a cluster of its own. Nodes talk over mutual TLS with <paramref name="credential"/>,
    /// and speak only for what their certificates name.
    /// </summary>
    public static AkkaConfigurationBuilder AddDmucReplication(this AkkaConfigurationBuilder builder, NodeCredential credential, string mucDomain,
        bool joinSelfWhenNoSeeds)
    {
        builder.AddClusterTls(credential);
        builder.AddHocon(ProtocolSerializerHocon, HoconAddMode.Prepend);
        builder.AddHocon(SplitToleranceHocon, HoconAddMode.Prepend);
        builder.AddHocon(RemotingHocon, HoconAddMode.Prepend);
        builder.AddClusterHostsWatcher(credential, mucDomain);
        builder.AddReplicaDirectory();
        if (joinSelfWhenNoSeeds)
            builder.AddStartup((system, _) =>
            {
                var cluster = Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        return builder;
    }

    private static string RenderProtocolSerializerHocon()
    {
        var assembly = typeof(ReplicaBatch).Assembly.GetName().Name;
        string Binding(Type type, string serializer = "dmuc-protocol") => $"\"{type.FullName}, {assembly}\" = {serializer}";
        return $$"""
            akka.actor {
              serializers.dmuc-protocol = "{{typeof(DmucProtocolSerializer).FullName}}, {{assembly}}"
              serializers.dmuc-node-proof = "{{typeof(NodeProofSerializer).FullName}}, {{assembly}}"
              serialization-bindings {
                {{Binding(typeof(ReplicaBatch))}}
                {{Binding(typeof(ForwardedStanza))}}
                {{Binding(typeof(EnterRefused))}}
                {{Binding(typeof(KeepalivePing))}}
                {{Binding(typeof(KeepalivePong))}}
                {{Binding(typeof(RequestNetjoin))}}
                {{Binding(typeof(ServerBehind))}}
                {{Binding(typeof(ResyncReplica))}}
                {{Binding(typeof(ForwardsAcknowledged))}}
                {{Binding(typeof(DeliveryReceipt))}}
                {{Binding(typeof(ProveNode), "dmuc-node-proof")}}
                {{Binding(typeof(NodeProof), "dmuc-node-proof")}}
                {{Binding(typeof(IncarnationStarted), "dmuc-node-proof")}}
              }
            }
            """;
    }
}
