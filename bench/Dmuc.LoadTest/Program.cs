using System.Diagnostics;
using System.Globalization;
using Dmuc.LoadTest;
using Dmuc.LoadTest.Scenarios;
using Dmuc.LoadTest.Servers;

const string Usage = """
    dmuc-loadtest: real c2s clients against XMPP servers' own MUC and against Dmuc behind them (loopback only).

    Commands:
      all                      the target scenarios: 10 occupants (saturation), 100 (join, saturation,
                               100 msg/s, 2x overload), 500 (join, 20 msg/s)
      compare                  every backend side by side: saturation at 100 occupants for all of them; 100
                               occupants at 10,000 deliveries/s and the join of 500 for ejabberd-muc and
                               dmuc-3hosts (with and without multicast)
      room --occupants N       one room: join, plus --saturate, --rate MSG_PER_S, --overload (needs --saturate)
      archive                  a room's archive of --messages (default 100,000) paged back to its start, 50 a
                               page, by a client outside the room while its --occupants (default 10) talk at
                               --rate (default 100 msg/s): time to the last page, live latency without and with
                               the reader (Prosody's own MUC archives with muc_mam on SQLite, needs lua-dbi-sqlite3;
                               it is filled through the room up to 5,000 messages, the rest copied in its store)

    Backends: prosody-muc, dmuc (Prosody + a Dmuc node), ejabberd-muc, ejabberd-dmuc (ejabberd + a Dmuc node),
              dmuc-3hosts (3 Prosodies a/b/c.localhost + primary and 2 replica nodes, clients spread evenly),
              ejabberd-dmuc-3hosts (the same with 3 ejabberds);
              Dmuc's go through the server's XEP-0033 multicast, and each has a -unicast twin with it turned
              off on the nodes (dmuc-unicast, ejabberd-dmuc-unicast, dmuc-3hosts-unicast); Prosody keeps what it
              hands Dmuc until acknowledged (mod_dmuc_stream_ack), except in dmuc-noack, and remembers what each
              session last got of each room (mod_dmuc_delivered), except in dmuc-nodelivered; ejabberd fans
              out through Dmuc's mod_dmuc_multicast (deploy/ejabberd), except in ejabberd-dmuc-modmulticast
              (ejabberd's own mod_multicast); prosody-muc-mam and ejabberd-muc-mam are the servers' own MUCs
              archiving every message as Dmuc does (muc_mam on SQLite, needs lua-dbi-sqlite3; mod_mam in mnesia)

    Options:
      --rounds N               room: run the backends N times, each round starting with the next one, and give
                               each ratio round by round with its median (default 1)
      --backend B[,B...]       all/room: the backends to run, first one the anchor of the ratios
                               (default prosody-muc,dmuc)
      --duration S             seconds per saturation/paced phase (default 10)
      --join-1000              all, compare: also time the join of 1,000 occupants
      --senders K              at most K clients send (default 10)
      --window W               saturation: messages in flight per sender (default 5)
      --node PATH              the dmuc-node executable (default: src/Dmuc.Host's build of this configuration)
      --markdown FILE          also write the result tables to FILE
      --latency-trace PREFIX   paced phases: every delivery (send time, latency, sender's and receiver's host) to
                               PREFIX.BACKEND.csv, to see where in time and between which hosts the tail lies
      --node-logs DIR          each Dmuc node's whole output to DIR/BACKEND/node-HOST.log; with --management-ports,
                               its metrics as it stops to DIR/BACKEND/node-HOST.metrics
      --management-ports P     the nodes' management endpoints on loopback ports P, P+1, … (one per host)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 1 : 0;
}

Dictionary<string, string?> options;
try
{
    options = ParseOptions(args.Skip(1).ToArray());
}
catch (ArgumentException error)
{
    Console.Error.WriteLine(error.Message);
    return 1;
}

var duration = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("--duration") ?? "10", CultureInfo.InvariantCulture));
var settings = new RunSettings(
    PhaseDuration: duration,
    WarmUpDuration: TimeSpan.FromSeconds(3),
    OverloadDuration: duration / 2,
    DrainTimeout: TimeSpan.FromSeconds(30),
    MaxSenders: int.Parse(options.GetValueOrDefault("--senders") ?? "10", CultureInfo.InvariantCulture),
    SaturationWindow: int.Parse(options.GetValueOrDefault("--window") ?? "5", CultureInfo.InvariantCulture),
    NodeExecutable: options.GetValueOrDefault("--node") ?? DefaultNodeExecutable(),
    LatencyTracePath: options.GetValueOrDefault("--latency-trace"),
    NodeLogs: options.GetValueOrDefault("--node-logs"),
    ManagementPorts: options.GetValueOrDefault("--management-ports") is { } port ? int.Parse(port, CultureInfo.InvariantCulture) : null);
IReadOnlyList<Backend> backends = (options.GetValueOrDefault("--backend") ?? "prosody-muc,dmuc")
    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Select(Backend.Parse).ToList();
var includeThousandJoin = options.ContainsKey("--join-1000");
IReadOnlyList<ScenarioPlan> plans = args[0] switch
{
    "all" => Scenario.Targets(includeThousandJoin).Select(scenario => new ScenarioPlan(scenario, backends)).ToList(),
    "compare" => Scenario.Comparison(includeThousandJoin),
    "archive" => [],
    "room" => [new ScenarioPlan(new Scenario($"{options["--occupants"]} occupants", int.Parse(options["--occupants"]!, CultureInfo.InvariantCulture))
    {
        Saturate = options.ContainsKey("--saturate"),
        PacedMessagesPerSecond = options.GetValueOrDefault("--rate") is { } rate ? double.Parse(rate, CultureInfo.InvariantCulture) : null,
        Overload = options.ContainsKey("--overload"),
    }, backends)],
    var unknown => throw new ArgumentException($"Unknown command '{unknown}'.\n{Usage}"),
};

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // let the servers be stopped on the way out
    cancellation.Cancel();
};

#if DEBUG
Console.Error.WriteLine("warning: this is a Debug build of the load tool; measure with -c Release");
#endif
Console.Error.WriteLine($"node: {settings.NodeExecutable}");
var tables = new List<string>();
var total = Stopwatch.StartNew();
if (args[0] == "archive")
{
    var archived = int.Parse(options.GetValueOrDefault("--messages") ?? "100000", CultureInfo.InvariantCulture);
    var occupants = int.Parse(options.GetValueOrDefault("--occupants") ?? "10", CultureInfo.InvariantCulture);
    var liveRate = double.Parse(options.GetValueOrDefault("--rate") ?? "100", CultureInfo.InvariantCulture);
    var results = new List<(Backend, IReadOnlyList<Metric>)>();
    foreach (var backend in backends)
    {
        Console.Error.WriteLine($"[{total.Elapsed:mm\\:ss}] archive paging against {backend.Name}");
        results.Add((backend, await ArchivePaging.RunAsync(archived, occupants, liveRate, backend, settings,
            line => Console.Error.WriteLine($"[{total.Elapsed:mm\\:ss}]   {line}"), cancellation.Token)));
    }
    var table = Report.Markdown($"archive of {archived:N0} messages paged back while {occupants} occupants talk", results);
    Console.WriteLine(table);
    if (options.GetValueOrDefault("--markdown") is { } archiveMarkdown) await File.WriteAllTextAsync(archiveMarkdown, table);
    Console.Error.WriteLine($"done in {total.Elapsed:mm\\:ss}");
    return 0;
}
var rounds = args[0] == "room" ? int.Parse(options.GetValueOrDefault("--rounds") ?? "1", CultureInfo.InvariantCulture) : 1;
foreach (var (scenario, scenarioBackends) in plans)
{
    var roundResults = new List<IReadOnlyList<(Backend Backend, IReadOnlyList<Metric> Metrics)>>();
    for (var round = 0; round < rounds; round++)
    {
        // Each round starts with the next backend, so that none always runs on the machine as the one before left it.
        var measured = new Dictionary<Backend, IReadOnlyList<Metric>>();
        foreach (var backend in scenarioBackends.Skip(round % scenarioBackends.Count).Concat(scenarioBackends.Take(round % scenarioBackends.Count)))
        {
            Console.Error.WriteLine($"[{total.Elapsed:mm\\:ss}] {scenario.Name} against {backend.Name}{(rounds > 1 ? $", round {round + 1}" : "")}");
            measured[backend] = await ScenarioRunner.RunAsync(scenario, backend, settings,
                line => Console.Error.WriteLine($"[{total.Elapsed:mm\\:ss}]   {line}"), cancellation.Token);
        }
        var results = scenarioBackends.Select(backend => (backend, measured[backend])).ToList();
        roundResults.Add(results);
        var table = Report.Markdown(rounds > 1 ? $"{scenario.Name}, round {round + 1}" : scenario.Name, results);
        tables.Add(table);
        Console.WriteLine(table);
    }
    if (rounds > 1 && scenarioBackends.Count > 1)
    {
        var summary = Report.RoundsMarkdown(scenario.Name, roundResults);
        tables.Add(summary);
        Console.WriteLine(summary);
    }
    // Written after every scenario, so a later failure does not lose the tables already measured.
    if (options.GetValueOrDefault("--markdown") is { } markdownPath)
        await File.WriteAllTextAsync(markdownPath, string.Join('\n', tables));
}
Console.Error.WriteLine($"done in {total.Elapsed:mm\\:ss}");
return 0;

static Dictionary<string, string?> ParseOptions(string[] arguments)
{
    string[] flags = ["--join-1000", "--saturate", "--overload"];
    var parsed = new Dictionary<string, string?>();
    for (var i = 0; i < arguments.Length; i++)
    {
        var name = arguments[i];
        if (!name.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{name}'");
        if (flags.Contains(name)) parsed[name] = null;
        else if (i + 1 < arguments.Length) parsed[name] = arguments[++i];
        else throw new ArgumentException($"{name} needs a value");
    }
    return parsed;
}

// The node is built alongside this tool (a build-order project reference), in the same configuration.
static string DefaultNodeExecutable()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Directory.Build.props")))
        directory = directory.Parent;
    var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Release";
    return Path.Combine(directory?.FullName ?? ".", "src", "Dmuc.Host", "bin", configuration, "net10.0", "dmuc-node");
}
