using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote;

namespace Dmuc.Actors.Replication;

/// <summary>
/// On the first of several seeds, until it is in a cluster: forms one of its own when <see cref="FirstSeedPatience"/> says the
/// other seeds are all down, and otherwise keeps Akka's seed process asking them (its own timeout is set out of reach,
/// <see cref="NoTimeoutHocon"/>), and says every <see cref="ReportEvery"/> why it is not in yet.
/// </summary>
public sealed class FirstSeedJoin : ReceiveActor, IWithTimers
{
    public const string Name = "first-seed-join";

    /// <summary>Akka's first seed would form a cluster alone after this; <see cref="FirstSeedJoin"/> decides instead.</summary>
    public const string NoTimeoutHocon = "akka.cluster.seed-node-timeout = 365d";

    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(15);

    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly FirstSeedPatience _patience;
    private DateTimeOffset _reportedAt = DateTimeOffset.MinValue;

    public FirstSeedJoin(TimeSpan grace)
    {
        _patience = new FirstSeedPatience(_cluster.Settings.SeedNodes.Where(seed => seed != _cluster.SelfAddress), DateTimeOffset.UtcNow, grace);
        Receive<AssociatedEvent>(associated => _patience.Associated(associated.RemoteAddress, DateTimeOffset.UtcNow));
        Receive<DisassociatedEvent>(disassociated => _patience.Disassociated(disassociated.RemoteAddress, DateTimeOffset.UtcNow));
        Receive<NodeNotInCluster>(starting => _patience.Announced(starting.Node, DateTimeOffset.UtcNow));
        Receive<ClusterEvent.IMemberEvent>(change =>
        {
            if (change.Member.UniqueAddress == _cluster.SelfUniqueAddress) Context.Stop(Self);
        });
        Receive<Check>(_ => JoinItselfOrWait());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TimeSpan grace) => Akka.Actor.Props.Create(() => new FirstSeedJoin(grace));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(AssociatedEvent));
        Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));
        Context.System.EventStream.Subscribe(Self, typeof(NodeNotInCluster));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        Timers.StartPeriodicTimer(nameof(Check), Check.Instance, CheckEvery);
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _cluster.Unsubscribe(Self);
    }

    private void JoinItselfOrWait()
    {
        var now = DateTimeOffset.UtcNow;
        if (_patience.JoinsItself(now))
        {
            _log.Warning("No other seed has been up in a cluster for the grace period: this node forms a new cluster");
            _cluster.Join(_cluster.SelfAddress);
            Context.Stop(Self);
        }
        else if (_patience.WaitsLong(now) && now - _reportedAt >= ReportEvery)
        {
            _reportedAt = now;
            _log.Warning("Not in the cluster yet: seeds {0} are up in a cluster but have not taken this node in. Their cluster removes this node's " +
                         "previous incarnation only once every unreachable member is back or downed (dmuc cluster down ADDRESS on a running node)",
                string.Join(", ", _patience.SeedsInCluster(now)));
        }
    }

    private sealed class Check
    {
        public static readonly Check Instance = new();
    }
}

public static class FirstSeedJoinHosting
{
    /// <summary>
    /// For the first of several seeds: it forms a cluster of its own only once no other seed has been up for
    /// <paramref name="grace"/> (<see cref="FirstSeedPatience"/>), instead of after Akka's <c>seed-node-timeout</c>.
    /// </summary>
    public static AkkaConfigurationBuilder AddFirstSeedJoin(this AkkaConfigurationBuilder builder, TimeSpan grace)
    {
        builder.AddHocon(FirstSeedJoin.NoTimeoutHocon, HoconAddMode.Prepend);
        return builder.WithActors((system, _) => system.ActorOf(FirstSeedJoin.Props(grace), FirstSeedJoin.Name));
    }
}
