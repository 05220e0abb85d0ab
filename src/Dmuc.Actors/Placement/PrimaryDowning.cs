using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Dmuc.Actors.Replication;

namespace Dmuc.Actors.Placement;

/// <summary>
/// The cluster's downing provider: only primary-capable nodes are ever downed, and only by a primary-capable node that
/// holds the <see cref="PrimaryLease"/>. A replica node is never downed for being unreachable: it rides out a split in split
/// mode and rejoins with a netjoin (docs/protocol/netjoin.md), which Akka's split brain resolver would not allow (it downs
/// every member on the side it gives up). Without a second primary-capable node nothing is ever downed here.
/// </summary>
/// <remarks>
/// A crash is told apart from a split by the lease: a crashed node never tries to take it, so its peer takes it and downs it;
/// in a split both try, one gets it and downs the other, and the other downs itself. <see cref="DownRemovalMargin"/> holds
/// the survivor's takeover of rooms (sharding's coordinator and its shards) back a little, so that the loser has stopped
/// its rooms before they start elsewhere and a room never has two primaries writing its journal.
/// </remarks>
public sealed class PrimaryDowning : IDowningProvider
{
    private readonly ActorSystem _system;
    private readonly Akka.Configuration.Config _config;

    /// <summary>The signature Akka.Cluster instantiates a downing provider with.</summary>
    public PrimaryDowning(ActorSystem system, Cluster cluster)
    {
        _ = cluster;
        _system = system;
        _config = system.Settings.Config.GetConfig(ConfigPath) ?? Akka.Configuration.Config.Empty;
    }

    public const string ConfigPath = "dmuc.downing";

    /// <summary>What <c>akka.cluster.downing-provider-class</c> names.</summary>
    public static string ProviderClass => $"{typeof(PrimaryDowning).FullName}, {typeof(PrimaryDowning).Assembly.GetName().Name}";

    public static readonly string Hocon = $$"""
        akka.cluster.downing-provider-class = "{{ProviderClass}}"
        {{ConfigPath}} {
          # how long the set of unreachable primary-capable nodes must stay the same before a decision (on top of the
          # failure detector's acceptable pause; docs/operations.md, "Failover timings")
          stable-after = 1s
          # how long the lease holds once taken (renewed at each decision while nodes stay unreachable)
          lease-lifetime = 20s
          # how long the survivor waits after downing before it takes the rooms over
          down-removal-margin = 1s
        }
        """;

    public TimeSpan DownRemovalMargin => _config.GetTimeSpan("down-removal-margin", TimeSpan.FromSeconds(1));

    public Props DowningActorProps => Props.Create(() => new PrimaryDowningActor(
        _config.GetTimeSpan("stable-after", TimeSpan.FromSeconds(1)),
        () => PrimaryLease.FromJournal(_system.Settings.Config, "dmuc-primaries@" + _system.Name, _config.GetTimeSpan("lease-lifetime", TimeSpan.FromSeconds(20)))));
}

/// <summary>
/// Watches the primary-capable members' reachability; once the unreachable ones have not changed for <c>stable-after</c>,
/// takes the lease and downs them, or downs itself when the lease is another's (or the database cannot be reached).
/// </summary>
public sealed class PrimaryDowningActor : ReceiveActor, IWithTimers
{
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<Member> _unreachablePrimaries = [];
    private readonly TimeSpan _stableAfter;
    private readonly Lazy<PrimaryLease> _lease;

    public PrimaryDowningActor(TimeSpan stableAfter, Func<PrimaryLease> lease)
    {
        _stableAfter = stableAfter;
        _lease = new Lazy<PrimaryLease>(lease);
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Unreachable) MarkUnreachable(member);
        });
        Receive<ClusterEvent.UnreachableMember>(unreachable => MarkUnreachable(unreachable.Member));
        Receive<ClusterEvent.ReachableMember>(reachable => Forget(reachable.Member));
        Receive<ClusterEvent.MemberRemoved>(removed => Forget(removed.Member));
        Receive<Decide>(_ => TakeLeaseIfStillUnreachable());
        Receive<LeaseAnswer>(HandleLeaseAnswer);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
        typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private bool SelfIsPrimary => _cluster.SelfRoles.Contains(ClusterHosts.PrimaryRole);

    private void MarkUnreachable(Member member)
    {
        if (!SelfIsPrimary || !member.HasRole(ClusterHosts.PrimaryRole) || member.UniqueAddress == _cluster.SelfUniqueAddress) return;
        if (_unreachablePrimaries.Add(member)) RestartStableTimer();
    }

    private void Forget(Member member)
    {
        if (_unreachablePrimaries.RemoveWhere(known => known.UniqueAddress == member.UniqueAddress) > 0) RestartStableTimer();
    }

    private void RestartStableTimer()
    {
        if (_unreachablePrimaries.Count == 0) Timers.Cancel(nameof(Decide));
        else Timers.StartSingleTimer(nameof(Decide), Decide.Instance, _stableAfter);
    }

    private void TakeLeaseIfStillUnreachable()
    {
        if (_unreachablePrimaries.Count == 0) return;
        var owner = _cluster.SelfUniqueAddress.ToString();
        var unreachable = _unreachablePrimaries.ToList();
        _log.Warning("Primary-capable nodes {0} unreachable for {1}: taking the primary lease", string.Join(", ", unreachable.Select(m => m.Address)), _stableAfter);
        _lease.Value.TryTakeAsync(owner, DateTimeOffset.UtcNow)
            .ContinueWith(taken => new LeaseAnswer(unreachable, taken.IsCompletedSuccessfully && taken.Result,
                taken.Exception?.GetBaseException().Message), TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void HandleLeaseAnswer(LeaseAnswer answer)
    {
        // Reachable again while the lease was asked: nothing to decide.
        if (!answer.Unreachable.Any(_unreachablePrimaries.Contains)) return;
        if (answer.Taken)
        {
            foreach (var member in answer.Unreachable.Where(_unreachablePrimaries.Contains))
            {
                _log.Warning("Downing unreachable primary-capable node {0}: this node holds the primary lease", member.Address);
                _cluster.Down(member.Address);
            }
            return;
        }
        _log.Error("Downing this node: primary-capable nodes {0} are unreachable and the primary lease is not ours ({1})",
            string.Join(", ", answer.Unreachable.Select(m => m.Address)), answer.Error ?? "another node holds it");
        _cluster.Down(_cluster.SelfAddress);
    }

    private sealed class Decide
    {
        public static readonly Decide Instance = new();
    }

    private sealed record LeaseAnswer(IReadOnlyList<Member> Unreachable, bool Taken, string? Error);
}
