using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dmuc.Host;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

// Dmuc's own cost per delivery, with nothing else in the way: a stand-in XMPP server on loopback speaks the
// component protocol to a real node (journal on SQLite, as in production), fills one room, then sends
// groupchat messages as fast as the node echoes them and counts every delivery the node writes back.
// The stand-in only counts bytes, so nearly all the CPU this process uses is the node's.

// Each argument is a room size, optionally with the messages of a pass ("10:200000", long enough to profile) and the
// messages in flight ("100:3000:1": one at a time, each reaching the node alone, as ejabberd hands a component a room's
// messages; by default 2,000 deliveries' worth, which the node reads several at once).
var sizes = args.Length > 0 ? args : ["10", "100", "1000"];
Console.WriteLine("| occupants | messages | in flight | deliveries | deliveries/s | CPU µs per delivery | CPU µs per message | bytes allocated per delivery | thread-pool work items per message |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var size in sizes)
{
    var parts = size.Split(':');
    var occupants = int.Parse(parts[0]);
    await MeasureAsync(occupants, messages: parts.Length > 1 ? int.Parse(parts[1]) : Math.Max(2_000, 200_000 / occupants),
        window: parts.Length > 2 ? int.Parse(parts[2]) : Math.Max(4, 2_000 / occupants));
}

static async Task MeasureAsync(int occupants, int messages, int window)
{
    var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
    var data = Directory.CreateTempSubdirectory("dmuc-nodebench-").FullName;
    using var node = DmucNode.Build(["--Serilog:MinimumLevel:Default", "Warning"], config => config.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Dmuc:Server"] = $"127.0.0.1:{port}",
        ["Dmuc:Domain"] = "conference.localhost",
        ["Dmuc:Secret"] = "secret",
        ["Dmuc:Data"] = data,
        // One sender floods the room on purpose: the per-user stanza rate would refuse most of it.
        ["Dmuc:Limits:OccupantStanzasPerSecond"] = "0",
        ["Dmuc:Management:Url"] = "",
    }));
    await node.StartAsync();
    using var socket = await listener.AcceptSocketAsync();
    socket.NoDelay = true;
    var server = new StandInServer(socket);
    await server.HandshakeAsync();

    const string room = "bench@conference.localhost";
    for (var i = 0; i < occupants; i++)
    {
        server.Send($"<presence from='u{i}@localhost/r' to='{room}/n{i}'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
        if (i == 0)
            server.Send($"<iq from='u0@localhost/r' to='{room}' type='set' id='unlock'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>");
    }
    await server.WaitForAsync("</presence>", occupants * (occupants + 1) / 2, TimeSpan.FromSeconds(120));

    // The first pass only warms up: tiered JIT recompiles the hot paths (linq2db's above all) for several
    // seconds after start, which a long-running node pays once, not per message.
    await SendMessagesAsync(server, room, occupants, messages, window);
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    // Unlike CPU time, what the process allocates does not depend on what else runs on the machine.
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    // Each is a hand-over between threads, which wakes one when it sleeps: what a message costs beyond its work.
    var workItemsBefore = ThreadPool.CompletedWorkItemCount;
    var clock = Stopwatch.StartNew();
    await SendMessagesAsync(server, room, occupants, messages, window);
    clock.Stop();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
    var workItems = ThreadPool.CompletedWorkItemCount - workItemsBefore;
    var deliveries = (long)messages * occupants;
    Console.WriteLine($"| {occupants} | {messages:N0} | {window} | {deliveries:N0} | {deliveries / clock.Elapsed.TotalSeconds:N0} | " +
                      $"{cpu.TotalMicroseconds / deliveries:F2} | {cpu.TotalMicroseconds / messages:F0} | {(double)allocated / deliveries:F0} | {(double)workItems / messages:F1} |");
    await node.StopAsync();
    Directory.Delete(data, recursive: true);
}

/// <summary>Sends groupchat messages with a bounded number in flight, and waits until every occupant has each.</summary>
static async Task SendMessagesAsync(StandInServer server, string room, int occupants, int messages, int window)
{
    var deliveredBefore = server.Count("</message>");
    for (var sent = 0; sent < messages; sent++)
    {
        while (true)
        {
            var counted = server.NextCount();
            if (sent - (server.Count("</message>") - deliveredBefore) / occupants < window) break;
            await counted;
        }
        server.Send($"<message from='u1@localhost/r' to='{room}' type='groupchat' id='m{sent}'><body>message number {sent} with a body of ordinary length</body></message>");
    }
    await server.WaitForAsync("</message>", deliveredBefore + (long)messages * occupants, TimeSpan.FromSeconds(300));
}

/// <summary>The XMPP server's side of the component stream, reduced to what the benchmark needs.</summary>
sealed class StandInServer
{
    private readonly Socket _socket;
    private readonly Dictionary<string, long> _counts = new();
    private readonly Lock _lock = new();
    private readonly List<string> _patterns = ["</presence>", "</message>"];
    // Completed at each count, for those who wait for one: polled with Task.Delay(1), waiting cost this process several
    // percent of its CPU (timer ticks waking pool threads) that the node did not spend.
    private TaskCompletionSource _nextCount = new();

    public StandInServer(Socket socket) => _socket = socket;

    public async Task HandshakeAsync()
    {
        await ReadUntilAsync("to='conference.localhost'>", "to=\"conference.localhost\">");
        Send("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='bench' from='conference.localhost'>");
        await ReadUntilAsync("</handshake>");
        Send("<handshake/>");
        _ = Task.Run(CountForeverAsync);
    }

    public void Send(string xml) => _socket.Send(Encoding.UTF8.GetBytes(xml));

    public long Count(string pattern)
    {
        lock (_lock) return _counts.GetValueOrDefault(pattern);
    }

    /// <summary>Completes at the next count: taken before looking at the counts, so that none is missed.</summary>
    public Task NextCount()
    {
        lock (_lock) return _nextCount.Task;
    }

    public async Task WaitForAsync(string pattern, long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var counted = NextCount();
            if (Count(pattern) >= count) return;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await counted.WaitAsync(left).ContinueWith(waited => waited.IsCompletedSuccessfully))
                throw new TimeoutException($"{Count(pattern)} of {count} {pattern}");
        }
    }

    private async Task ReadUntilAsync(params string[] endings)
    {
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!endings.Any(ending => seen.ToString().Contains(ending)))
        {
            var read = await _socket.ReceiveAsync(buffer);
            if (read == 0) throw new IOException("the node closed the stream");
            seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }

    private async Task CountForeverAsync()
    {
        var buffer = new byte[1 << 16];
        var carry = 0;
        var needles = _patterns.Select(Encoding.UTF8.GetBytes).ToArray();
        while (true)
        {
            var read = await _socket.ReceiveAsync(buffer.AsMemory(carry));
            if (read == 0) return;
            var span = buffer.AsSpan(0, carry + read);
            var found = new long[needles.Length];
            for (var n = 0; n < needles.Length; n++)
            {
                var rest = span;
                int at;
                while ((at = rest.IndexOf(needles[n])) >= 0)
                {
                    found[n]++;
                    rest = rest[(at + needles[n].Length)..];
                }
            }
            TaskCompletionSource counted;
            lock (_lock)
            {
                for (var n = 0; n < needles.Length; n++) _counts[_patterns[n]] = _counts.GetValueOrDefault(_patterns[n]) + found[n];
                (counted, _nextCount) = (_nextCount, new TaskCompletionSource());
            }
            counted.SetResult();
            // Keep a tail one byte shorter than the shortest pattern: a match split across reads is found next
            // time, and no match already counted fits in it.
            carry = Math.Min(span.Length, needles.Min(needle => needle.Length) - 1);
            span[^carry..].CopyTo(buffer);
        }
    }
}
