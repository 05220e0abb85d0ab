using System.Diagnostics;
using System.Runtime;
using System.Text.Json;
using Dmuc.Actors.Rooms;
using Dmuc.Xmpp;
using Microsoft.Data.Sqlite;
using Dmuc.Actors.Persistence;

namespace Dmuc.PersistBench;

/// <summary>
/// What idle rooms cost a node (issue 13): N persistent rooms are created and left idle, then the node is started
/// again on that journal, as this version starts (only rooms that had occupants are loaded) and as the previous
/// version did (every room loaded once at start, to check its occupants); and what an active room costs (10
/// occupants, 20 messages). Each phase runs in a process of its own, so resident memory is that phase's alone.
/// </summary>
internal static class ManyRoomsBench
{
    private const int OccupantsPerActiveRoom = 10;
    private const int MessagesPerActiveRoom = 20;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The parent: runs each phase as a child process and prints one table.</summary>
    public static async Task RunAsync(int rooms, int activeRooms)
    {
        using var data = new TempDirectory();
        var created = await PhaseAsync("create", data.Path, rooms);
        var started = await PhaseAsync("start", data.Path, rooms);
        var legacy = await PhaseAsync("start-loading-every-room", data.Path, rooms);
        using var activeData = new TempDirectory();
        var active = await PhaseAsync("active", activeData.Path, activeRooms);

        Console.WriteLine($"| {rooms:N0} idle persistent rooms, one node, SQLite | result |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| created (join, configure, leave) | {created["seconds"]:F1} s, {rooms / created["seconds"]:N0} rooms/s |");
        Console.WriteLine($"| resident memory: empty node → all {rooms:N0} loaded → after they went idle | {created["baseMiB"]:N0} → {created["loadedMiB"]:N0} → {created["idleMiB"]:N0} MiB |");
        Console.WriteLine($"| managed heap after they went idle | {created["idleHeapMiB"]:N1} MiB, {created["idleHeapMiB"] * 1024 * 1024 / rooms:N0} B a room |");
        Console.WriteLine($"| start, this version (loads the rooms that had occupants: {started["loaded"]:N0}) | {started["seconds"]:F2} s to list all {rooms:N0}; {started["rssMiB"]:N0} MiB resident, {started["heapMiB"]:N1} MiB managed |");
        var rate = legacy["recovered"] / legacy["seconds"];
        Console.WriteLine($"| start, previous version (loads every room once) | the first {legacy["recovered"]:N0} recovered in {legacy["seconds"]:F1} s ({rate:N0} rooms/s; all {rooms:N0}: about {rooms / rate / 60:N0} min); {legacy["rssMiB"]:N0} MiB resident then, {legacy["heapMiB"]:N1} MiB managed |");
        Console.WriteLine($"| {activeRooms:N0} active rooms ({OccupantsPerActiveRoom} occupants, {MessagesPerActiveRoom} messages each) | {active["rssKiBPerRoom"]:N0} KiB resident a room, {active["heapKiBPerRoom"]:N1} KiB managed a room ({active["baseMiB"]:N0} → {active["rssMiB"]:N0} MiB) |");
    }

    /// <summary>A child: one phase, printing its figures as one JSON line.</summary>
    public static async Task RunPhaseAsync(string phase, string data, int rooms)
    {
        var figures = phase switch
        {
            "create" => await CreateAsync(data, rooms),
            "start" => await StartAsync(data, rooms),
            "start-loading-every-room" => await StartLoadingEveryRoomAsync(data, rooms),
            "active" => await ActiveAsync(data, rooms),
            _ => throw new ArgumentException($"no phase {phase}"),
        };
        Console.WriteLine(JsonSerializer.Serialize(figures));
    }

    private static async Task<Dictionary<string, double>> PhaseAsync(string phase, string data, int rooms)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        // Started as `dotnet Dmuc.PersistBench.dll`, the child needs the dll named; the app host (dotnet run) does not.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ManyRoomsBench).Assembly.Location);
        foreach (var argument in new[] { "rooms-phase", phase, data, rooms.ToString() }) start.ArgumentList.Add(argument);
        using var child = Process.Start(start)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0) throw new InvalidOperationException($"phase {phase} exited with {child.ExitCode}: {output}");
        return JsonSerializer.Deserialize<Dictionary<string, double>>(output.Trim().Split('\n')[^1])!;
    }

    private static async Task<Dictionary<string, double>> CreateAsync(string data, int rooms)
    {
        await using var node = new BenchNode(data, new CountingSink(long.MaxValue), RoomActorSettings.Default.SnapshotEvery, IdleTimeout);
        await node.CountRoomsAsync();
        var baseMiB = ResidentMiB();
        var clock = Stopwatch.StartNew();
        // Small enough that the journal's write queue (Akka.Persistence.Sql buffer-size) never overflows.
        const int wave = 500;
        for (var first = 0; first < rooms; first += wave)
        {
            var names = Enumerable.Range(first, Math.Min(wave, rooms - first)).Select(BenchNode.RoomName).ToList();
            foreach (var room in names) node.SendIdleRoomCreation(room);
            // Each room answers once it has handled what came before: a wave at a time, so mailboxes stay small.
            await Task.WhenAll(names.Select(node.InspectAsync));
            // A room answers before its writes are done (PersistAllAsync): without waiting for them, waves outran SQLite, writes
            // queued in the journal for longer than its call-timeout (10 s), and the circuit breaker opened (benchmarks.md).
            while (RoomsInJournal(data) < first + names.Count) await Task.Delay(20);
            Console.Error.WriteLine($"created {first + names.Count:N0} rooms in {clock.Elapsed.TotalSeconds:F0} s");
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var loadedMiB = ResidentMiB();
        while ((await node.CountRoomsAsync()).InMemory > 0) await Task.Delay(500);
        var (idleMiB, idleHeapMiB) = AfterFullCollection();
        return new() { ["seconds"] = seconds, ["baseMiB"] = baseMiB, ["loadedMiB"] = loadedMiB, ["idleMiB"] = idleMiB, ["idleHeapMiB"] = idleHeapMiB };
    }

    private static async Task<Dictionary<string, double>> StartAsync(string data, int rooms)
    {
        var clock = Stopwatch.StartNew();
        await using var node = new BenchNode(data, new CountingSink(long.MaxValue), RoomActorSettings.Default.SnapshotEvery, IdleTimeout);
        var (listed, inMemory) = await node.CountRoomsAsync();
        while (listed < rooms)
        {
            await Task.Delay(10);
            (listed, inMemory) = await node.CountRoomsAsync();
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var (rssMiB, heapMiB) = AfterFullCollection();
        return new() { ["seconds"] = seconds, ["loaded"] = inMemory, ["rssMiB"] = rssMiB, ["heapMiB"] = heapMiB };
    }

    /// <summary>
    /// The previous version's start: its index did not track occupancy, so every room was loaded once. The index is made
    /// to look like that one's (its occupancy mark and snapshots removed), which takes this version down that path.
    /// Rooms recover roughly in the order they were created; the time until the first <see cref="RecoveriesTimed"/> have
    /// gives the rate, and from it how long all of them take.
    /// </summary>
    private static async Task<Dictionary<string, double>> StartLoadingEveryRoomAsync(string data, int rooms)
    {
        ForgetOccupancyTracking(data);
        var clock = Stopwatch.StartNew();
        // Rooms stay in memory, as they did for the previous version while it checked them.
        await using var node = new BenchNode(data, new CountingSink(long.MaxValue), RoomActorSettings.Default.SnapshotEvery);
        var timed = Math.Min(rooms, RecoveriesTimed);
        // Asked only once started (started is not recovered: each answers once it has), so no question starts a room itself.
        while ((await node.CountRoomsAsync()).InMemory < timed) await Task.Delay(50);
        await Task.WhenAll(Enumerable.Range(0, timed).Select(BenchNode.RoomName).Select(node.InspectAsync));
        var seconds = clock.Elapsed.TotalSeconds;
        var (rssMiB, heapMiB) = AfterFullCollection();
        return new() { ["seconds"] = seconds, ["recovered"] = timed, ["rssMiB"] = rssMiB, ["heapMiB"] = heapMiB };
    }

    private const int RecoveriesTimed = 5000;

    /// <summary>How many rooms have events on disk, read from the SQLite journal beside the node.</summary>
    private static long RoomsInJournal(string data)
    {
        using var connection = new SqliteConnection(JournalOptions.SqliteIn(data).ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(DISTINCT persistence_id) FROM journal WHERE persistence_id LIKE 'room:%'";
        return (long)command.ExecuteScalar()!;
    }

    private static void ForgetOccupancyTracking(string data)
    {
        using var connection = new SqliteConnection(JournalOptions.SqliteIn(data).ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM journal WHERE persistence_id = $index AND CAST(message AS TEXT) LIKE '%occupancy-tracked%';
            DELETE FROM snapshot WHERE persistence_id = $index;
            """;
        command.Parameters.AddWithValue("$index", RoomIndex.PersistenceIdFor(Jid.Parse(BenchNode.Service)));
        command.ExecuteNonQuery();
    }

    private static async Task<Dictionary<string, double>> ActiveAsync(string data, int rooms)
    {
        await using var node = new BenchNode(data, new CountingSink(long.MaxValue), RoomActorSettings.Default.SnapshotEvery);
        await node.CountRoomsAsync();
        var (baseMiB, baseHeapMiB) = AfterFullCollection();
        var names = Enumerable.Range(0, rooms).Select(BenchNode.RoomName).ToList();
        foreach (var room in names)
        {
            await node.CreateRoomAsync(room);
            for (var occupant = 1; occupant < OccupantsPerActiveRoom; occupant++)
                node.SendJoin(room, $"user{occupant}@localhost/device", $"User{occupant}");
            for (var message = 1; message <= MessagesPerActiveRoom; message++) node.Send(BenchNode.Message(room, message));
        }
        await Task.WhenAll(names.Select(node.InspectAsync));
        var (rssMiB, heapMiB) = AfterFullCollection();
        return new()
        {
            ["baseMiB"] = baseMiB, ["rssMiB"] = rssMiB,
            ["rssKiBPerRoom"] = (rssMiB - baseMiB) * 1024 / rooms, ["heapKiBPerRoom"] = (heapMiB - baseHeapMiB) * 1024 / rooms,
        };
    }

    /// <summary>Resident and managed memory once the garbage is collected and given back to the system.</summary>
    private static (double ResidentMiB, double HeapMiB) AfterFullCollection()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return (ResidentMiB(), GC.GetTotalMemory(forceFullCollection: false) / 1024.0 / 1024.0);
    }

    private static double ResidentMiB()
    {
        var line = File.ReadLines("/proc/self/status").First(line => line.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }
}
