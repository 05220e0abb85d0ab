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
        Console.WriteLine($"| created (join, configure, leave; 500 at a time, the node bounding creations under way) | {created["seconds"]:F1} s, {rooms / created["seconds"]:N0} rooms/s, {created["errors"]:N0} errors |");
        Console.WriteLine($"| resident memory: empty node → highest while creating → all {rooms:N0} created → after they went idle | {created["baseMiB"]:N0} → {created["peakMiB"]:N0} → {created["loadedMiB"]:N0} → {created["idleMiB"]:N0} MiB |");
        Console.WriteLine($"| managed heap after they went idle | {created["idleHeapMiB"]:N1} MiB, {created["idleHeapMiB"] * 1024 * 1024 / rooms:N0} B a room |");
        Console.WriteLine($"| start, this version (loads the rooms that had occupants: {started["loaded"]:N0}) | {started["seconds"]:F2} s to the first disco#items answer, all {rooms:N0} listed; {started["rssMiB"]:N0} MiB resident, {started["heapMiB"]:N1} MiB managed |");
        Console.WriteLine($"| every room paged through, {PageSize} a page | disco#items (XEP-0059): {started["discoPages"]:N0} pages in {started["discoSeconds"]:F2} s ({started["discoSeconds"] * 1000 / started["discoPages"]:F2} ms a page); management API list: {started["listPages"]:N0} pages in {started["listSeconds"]:F2} s ({started["listSeconds"] * 1000 / started["listPages"]:F2} ms a page) |");
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
        var figures = output.Trim().Split('\n')[^1];
        // As each phase ends, so that a later phase's failure does not take the earlier figures with it.
        Console.Error.WriteLine($"phase {phase}: {figures}");
        return JsonSerializer.Deserialize<Dictionary<string, double>>(figures)!;
    }

    private static async Task<Dictionary<string, double>> CreateAsync(string data, int rooms)
    {
        var sink = new CountingSink(long.MaxValue);
        await using var node = new BenchNode(data, sink, RoomActorSettings.Default.SnapshotEvery, IdleTimeout);
        await node.CountRoomsAsync();
        var baseMiB = ResidentMiB();
        var peakMiB = baseMiB;
        var clock = Stopwatch.StartNew();
        // The node bounds the creations under way itself (RoomCreationBurst: 100, then up to 10,000 stanzas wait); a wave is
        // sent without waiting for the journal, and the next once every room of this one has handled its stanzas.
        const int wave = 500;
        for (var first = 0; first < rooms; first += wave)
        {
            var names = Enumerable.Range(first, Math.Min(wave, rooms - first)).Select(BenchNode.RoomName).ToList();
            foreach (var room in names) node.SendIdleRoomCreation(room);
            await Task.WhenAll(names.Select(node.InspectAsync));
            peakMiB = Math.Max(peakMiB, ResidentMiB());
            if ((first + names.Count) % 5000 == 0) Console.Error.WriteLine($"created {first + names.Count:N0} rooms in {clock.Elapsed.TotalSeconds:F0} s, {peakMiB:N0} MiB at most");
        }
        while (RoomsInJournal(data) < rooms) await Task.Delay(20);
        var seconds = clock.Elapsed.TotalSeconds;
        var loadedMiB = ResidentMiB();
        while ((await node.CountRoomsAsync()).InMemory > 0) await Task.Delay(500);
        await node.FlushRoomIndexAsync();
        var (idleMiB, idleHeapMiB) = AfterFullCollection();
        return new()
        {
            ["seconds"] = seconds, ["baseMiB"] = baseMiB, ["peakMiB"] = peakMiB, ["loadedMiB"] = loadedMiB, ["idleMiB"] = idleMiB,
            ["idleHeapMiB"] = idleHeapMiB, ["errors"] = sink.Errors,
        };
    }

    /// <summary>
    /// Time to serving: from the start of the actor system to the first disco#items answer (the directory answers once the
    /// index has recovered, so that nothing is left out); then every room paged through by disco#items (XEP-0059) and by the
    /// management API's list (<c>dmuc rooms list</c>), 100 a page.
    /// </summary>
    private static async Task<Dictionary<string, double>> StartAsync(string data, int rooms)
    {
        var clock = Stopwatch.StartNew();
        var sink = new CountingSink(long.MaxValue);
        await using var node = new BenchNode(data, sink, RoomActorSettings.Default.SnapshotEvery, IdleTimeout);
        await node.DiscoItemsAsync(sink, after: null, PageSize);
        var serving = clock.Elapsed.TotalSeconds;
        var (listed, inMemory) = await node.CountRoomsAsync();
        if (listed != rooms) throw new InvalidOperationException($"the node lists {listed:N0} rooms of {rooms:N0}");
        var (rssMiB, heapMiB) = AfterFullCollection();

        clock.Restart();
        var (discoPages, discoRooms) = (0, 0);
        for (string? after = null; ; discoPages++)
        {
            var page = await node.DiscoItemsAsync(sink, after, PageSize);
            discoRooms += page.Descendants().Count(element => element.Name.LocalName == "item");
            after = page.Descendants(BenchNode.Rsm + "last").SingleOrDefault()?.Value;
            if (after is null || page.Descendants(BenchNode.Rsm + "set").Single().Element(BenchNode.Rsm + "count") is { } count && discoRooms >= (int)count) break;
        }
        var discoSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var (listPages, listRooms) = (0, 0);
        for (string? after = null; ; listPages++)
        {
            var page = await node.ListRoomsAsync(after, PageSize);
            listRooms += page.Rooms.Count;
            if (!page.HasMore) break;
            after = page.Rooms[^1].Room.ToString();
        }
        var listSeconds = clock.Elapsed.TotalSeconds;
        if (discoRooms != rooms || listRooms != rooms)
            throw new InvalidOperationException($"paged through {discoRooms:N0} rooms by disco#items, {listRooms:N0} by the list, of {rooms:N0}");
        return new()
        {
            ["seconds"] = serving, ["loaded"] = inMemory, ["rssMiB"] = rssMiB, ["heapMiB"] = heapMiB,
            ["discoPages"] = discoPages + 1, ["discoSeconds"] = discoSeconds, ["listPages"] = listPages + 1, ["listSeconds"] = listSeconds,
        };
    }

    private const int PageSize = 100;

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
        // Each room answers once it has recovered. Asked at once: the directory, busy starting every room of the journal, would
        // not answer a count in time at 100,000; a question that reaches a room before its start starts it, as the start would.
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
        // Each message echoed to all ten, and echoed only once written: memory is measured with no write in flight.
        var sink = new CountingSink((long)rooms * MessagesPerActiveRoom * OccupantsPerActiveRoom);
        await using var node = new BenchNode(data, sink, RoomActorSettings.Default.SnapshotEvery);
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
        await sink.AllEchoed.WaitAsync(TimeSpan.FromMinutes(10));
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
