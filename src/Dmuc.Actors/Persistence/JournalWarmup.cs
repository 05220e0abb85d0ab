using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;

namespace Dmuc.Actors.Persistence;

/// <summary>
/// Recovers a stream nobody writes, once, when the node starts, then saves a snapshot of it and deletes it again, and stops.
/// With rooms sharded, a primary-capable node may never have read the journal before a failover makes it recover the shard
/// coordinator, the shards' remembered rooms and the rooms themselves: its first recovery then also started the journal and
/// snapshot store (connections, table checks) and compiled their queries, and the survivor's coordinator took 3 s to answer
/// its region (docs/benchmarks.md, issue 13's failover section). On every node, a room's first snapshot compiled the snapshot
/// store's save and delete inside whatever the room was doing: a join of 500 over three hosts spent 7–12 % of its primary's
/// CPU there (docs/benchmarks.md, issue 11, fourteenth session). Doing each once here pays that at start instead.
/// </summary>
public sealed class JournalWarmup : UntypedPersistentActor
{
    public const string Name = "journal-warmup";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly long _started = Stopwatch.GetTimestamp();

    /// <summary>No actor ever persists to it: recovering it reads the snapshot store and the journal and finds nothing.</summary>
    public const string Stream = "dmuc-journal-warmup";

    public override string PersistenceId => Stream;

    protected override void OnRecover(object message)
    {
        if (message is not RecoveryCompleted) return;
        _log.Info("The journal answered its first recovery in {0:F0} ms", Stopwatch.GetElapsedTime(_started).TotalMilliseconds);
        SaveSnapshot(Stream);
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case SaveSnapshotSuccess:
                DeleteSnapshots(SnapshotSelectionCriteria.Latest);
                break;
            case DeleteSnapshotsSuccess:
                _log.Info("The snapshot store saved and deleted its first snapshot {0:F0} ms after the start", Stopwatch.GetElapsedTime(_started).TotalMilliseconds);
                Context.Stop(Self);
                break;
            case SaveSnapshotFailure or DeleteSnapshotsFailure:
                _log.Warning("The snapshot store's first write failed; the first room to snapshot will start it");
                Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null) =>
        _log.Warning("The journal's first recovery failed ({0}); the first room or shard to recover will start it", reason.Message);
}

public static class JournalWarmupHosting
{
    /// <summary>Starts <see cref="JournalWarmup"/> with the node.</summary>
    public static AkkaConfigurationBuilder AddJournalWarmup(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, _) => system.ActorOf(Props.Create<JournalWarmup>(), JournalWarmup.Name));
}
