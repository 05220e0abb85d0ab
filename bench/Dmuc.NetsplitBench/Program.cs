using System.Globalization;
using Dmuc.Actors.Tests.Replication;
using Dmuc.NetsplitBench;

// Netsplit detection and netjoin times for one large room over three in-process nodes (docs/benchmarks.md).
// Usage: dotnet run -c Release --project bench/Dmuc.NetsplitBench -- [--occupants 1000] [--messages 1000]
//        [--repetitions 3] [--keepalive production,fast (any of production, fast, test)] [--history N (default 20, the service default)]
var occupants = IntOption("--occupants", 1000);
var messages = IntOption("--messages", 1000);
var options = new BenchOptions(occupants, messages, IntOption("--repetitions", 3), IntOption("--history", DmucTestCluster.ServiceOptions.HistoryLength));
KeepaliveSetting[] known = [KeepaliveSetting.Production, KeepaliveSetting.Fast, KeepaliveSetting.Test];
var settings = (Option("--keepalive") ?? "production,fast").Split(',')
    .Select(name => known.SingleOrDefault(setting => setting.Name == name)
                    ?? throw new ArgumentException($"--keepalive {name}: expected {string.Join(", ", known.Select(setting => setting.Name))}"))
    .ToList();

Console.WriteLine($"# Netsplit benchmark: {options.Occupants} occupants over 3 hosts, {options.Messages} messages per split, " +
                  $"{options.Repetitions} repetitions, room history {options.HistoryLength}");
Console.WriteLine($"started {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
var results = new List<SettingResult>();
foreach (var setting in settings)
{
    Console.WriteLine($"- {setting.Describe()}");
    try
    {
        results.Add(await new NetsplitScenario(options, setting, Console.Out).RunAsync());
    }
    catch (TimeoutException stopped)
    {
        Console.WriteLine($"  {setting.Name}: STOPPED: {stopped.Message}");
        results.Add(new SettingResult(setting, double.NaN, [], [], stopped.Message));
    }
}
Console.WriteLine($"finished {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {LoadAverage()}");
Console.WriteLine();
Report.Write(Console.Out, options, results);
return results.All(result => result.Failure is null && result.JoinProblems.Count == 0 && result.Rounds.All(round => round.Converged)) ? 0 : 1;

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

int IntOption(string name, int fallback) => Option(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
