using System.Diagnostics;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Rooms;
using Dmuc.PersistBench;
using Dmuc.Xmpp;
using Microsoft.Data.Sqlite;

// Persist throughput and recovery time of room actors on the SQLite journal, measured end to end: from the
// first stanza handed to the room directory to the last echo leaving the room (each echo waits for its write).
// Usage: dotnet run -c Release --project bench/Dmuc.PersistBench [messages-per-room-alone] [rooms] [messages-per-room-parallel] [recovery-events]
//        dotnet run -c Release --project bench/Dmuc.PersistBench archive [archived-messages] [page-size] [live-messages-per-second]
//        dotnet run -c Release --project bench/Dmuc.PersistBench rooms [idle-rooms] [active-rooms]
//        dotnet run -c Release --project bench/Dmuc.PersistBench paced [occupants] [messages-per-second] [seconds] [snapshot-every]
if (args.FirstOrDefault() == "rooms")
{
    await ManyRoomsBench.RunAsync(ArgOrDefault(1, 100_000), ArgOrDefault(2, 1_000));
    return;
}
if (args.FirstOrDefault() == "rooms-phase")
{
    await ManyRoomsBench.RunPhaseAsync(args[1], args[2], int.Parse(args[3]));
    return;
}
if (args.FirstOrDefault() == "paced")
{
    Console.WriteLine("| paced messages into one room | first copy out after |");
    Console.WriteLine("|---|---|");
    await PacedLatencyBench.RunAsync(ArgOrDefault(1, 100), ArgOrDefault(2, 100), ArgOrDefault(3, 20), ArgOrDefault(4, RoomActorSettings.Default.SnapshotEvery));
    return;
}
if (args.FirstOrDefault() == "archive")
{
    Console.WriteLine("| archive paging | result |");
    Console.WriteLine("|---|---|");
    await ArchivePagingBench.RunAsync(ArgOrDefault(1, 100_000), ArgOrDefault(2, 50), ArgOrDefault(3, 100));
    return;
}
var singleRoomMessages = ArgOrDefault(0, 20_000);
var parallelRooms = ArgOrDefault(1, 10);
var parallelMessagesPerRoom = ArgOrDefault(2, 10_000);
var recoveryEvents = ArgOrDefault(3, 100_000);

Console.WriteLine($"| scenario | result |");
Console.WriteLine($"|---|---|");
await Throughput($"{singleRoomMessages:N0} messages into 1 room", rooms: 1, singleRoomMessages);
await Throughput($"{parallelMessagesPerRoom:N0} messages into each of {parallelRooms} rooms", parallelRooms, parallelMessagesPerRoom);
await Recovery(recoveryEvents, snapshotEvery: int.MaxValue, "no snapshots");
await Recovery(recoveryEvents, snapshotEvery: RoomActorSettings.Default.SnapshotEvery, $"snapshot every {RoomActorSettings.Default.SnapshotEvery}");

int ArgOrDefault(int index, int fallback) => args.Length > index ? int.Parse(args[index]) : fallback;

static async Task Throughput(string scenario, int rooms, int messagesPerRoom)
{
    using var data = new TempDirectory();
    var sink = new CountingSink((long)rooms * messagesPerRoom);
    await using var node = new BenchNode(data.Path, sink, RoomActorSettings.Default.SnapshotEvery);
    var roomNames = Enumerable.Range(1, rooms).Select(BenchNode.RoomName).ToList();
    foreach (var room in roomNames)
        await node.CreateRoomAsync(room);
    // Built beforehand so that only routing, deciding, persisting and echoing are timed. Interleaved by room,
    // the way independent clients' traffic arrives.
    var messages = Enumerable.Range(1, messagesPerRoom)
        .SelectMany(i => roomNames.Select(room => BenchNode.Message(room, i)))
        .ToList();

    var clock = Stopwatch.StartNew();
    foreach (var message in messages)
        node.Send(message);
    await sink.AllEchoed.WaitAsync(TimeSpan.FromMinutes(10));
    clock.Stop();

    Console.WriteLine($"| {scenario} | {messages.Count / clock.Elapsed.TotalSeconds:N0} messages/s ({clock.Elapsed.TotalSeconds:F2} s to the last echo) |");
}

static async Task Recovery(int events, int snapshotEvery, string variant)
{
    using var data = new TempDirectory();
    var room = BenchNode.RoomName(1);
    // Fill the journal through the room itself, so that snapshots are taken exactly as in production.
    var fillSink = new CountingSink(events);
    await using (var filler = new BenchNode(data.Path, fillSink, snapshotEvery))
    {
        await filler.CreateRoomAsync(room);
        for (var i = 1; i <= events; i++)
            filler.Send(BenchNode.Message(room, i));
        await fillSink.AllEchoed.WaitAsync(TimeSpan.FromMinutes(10));
        if (snapshotEvery < events) await SnapshotCaughtUpAsync(data.Path, room, events - snapshotEvery);
    }

    await using var recovering = new BenchNode(data.Path, new CountingSink(0), snapshotEvery);
    // An empty room first: connecting to the database and checking its tables is not the room's recovery.
    await recovering.TimeRecoveryAsync(BenchNode.RoomName(0));
    var (elapsed, sequenceNr) = await recovering.TimeRecoveryAsync(room);
    var snapshot = LatestSnapshotSequenceNr(data.Path, room);
    Console.WriteLine($"| recovery of a room with {sequenceNr:N0} journaled events, {variant} (latest at {snapshot:N0}) | {elapsed.TotalSeconds:F2} s |");
}

// The last snapshot may still be on its way to the store when the last echo is out.
static async Task SnapshotCaughtUpAsync(string dataDirectory, string room, long sequenceNr)
{
    var deadline = DateTime.UtcNow.AddSeconds(30);
    while (LatestSnapshotSequenceNr(dataDirectory, room) < sequenceNr && DateTime.UtcNow < deadline)
        await Task.Delay(50);
}

static long LatestSnapshotSequenceNr(string dataDirectory, string room)
{
    using var connection = new SqliteConnection(JournalOptions.SqliteIn(dataDirectory).ConnectionString);
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = "SELECT COALESCE(MAX(sequence_number), 0) FROM snapshot WHERE persistence_id = $id";
    command.Parameters.AddWithValue("$id", RoomActor.PersistenceIdFor(Jid.Parse(room)));
    return (long)command.ExecuteScalar()!;
}

/// <summary>A data directory that is deleted afterwards (with the SQLite connections that keep it open).</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("dmuc-persist-bench-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
