using Akka.Actor;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>
/// Tests of rooms on a real SQLite journal (a temp file per test). A "node" is a room directory in an actor
/// system; restarting a node terminates its actor system and starts a new one on the same journal.
/// </summary>
public abstract class RoomActorTestKit : Akka.TestKit.Xunit2.TestKit
{
    private readonly List<ActorSystem> _extraSystems = [];
    private bool _testKitSystemTaken;

    protected RoomActorTestKit(ITestOutputHelper output) : this(new TempJournal(), output)
    {
    }

    private RoomActorTestKit(TempJournal journal, ITestOutputHelper output) : base(journal.Config, "dmuc-test", output)
    {
        Journal = journal;
    }

    protected TempJournal Journal { get; }

    /// <summary>Settings that never snapshot or passivate, so a test sees only what it asks for.</summary>
    protected static RoomActorSettings QuietSettings { get; } = new(SnapshotEvery: int.MaxValue, IdleTimeout: TimeSpan.FromHours(1));

    /// <summary>The first node runs in the test kit's system (so probes can watch its actors), later ones in their own.</summary>
    protected RoomNode StartNode(RoomActorSettings? settings = null, MucServiceOptions? options = null)
    {
        ActorSystem system;
        if (!_testKitSystemTaken)
        {
            _testKitSystemTaken = true;
            system = Sys;
        }
        else
        {
            system = ActorSystem.Create($"dmuc-test-{_extraSystems.Count + 1}", Journal.Config);
            _extraSystems.Add(system);
        }
        return new RoomNode(system, settings ?? QuietSettings, options ?? RoomNode.ServiceOptions);
    }

    /// <summary>Stops the node's whole actor system (rooms, journal plugin and all) and starts a fresh node on the same journal.</summary>
    protected async Task<RoomNode> RestartAsync(RoomNode node, RoomActorSettings? settings = null)
    {
        await node.System.Terminate();
        return StartNode(settings, node.Options);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        foreach (var system in _extraSystems)
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        Journal.Dispose();
    }
}
