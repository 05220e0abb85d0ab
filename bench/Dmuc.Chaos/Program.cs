using System.CommandLine;
using System.Text.Json;
using Dmuc.Integration.Tests.Chaos;
using Dmuc.Integration.Tests.Topology;

// The chaos test for as long as asked (docs/benchmarks.md#chaos): the local four-host topology (deploy/local) on its own
// ports and run folder, users on every host talking, seeded faults; prints the checker's table, exits 1 if it failed.
var seed = new Option<int>("--seed") { Description = "Seed of the fault schedule", DefaultValueFactory = _ => 1 };
var duration = new Option<TimeSpan>("--duration") { Description = "How long faults are injected (hh:mm:ss)", DefaultValueFactory = _ => TimeSpan.FromMinutes(10) };
var interval = new Option<TimeSpan>("--message-interval") { Description = "Time between two messages of one user", DefaultValueFactory = _ => TimeSpan.FromSeconds(1) };
var faults = new Option<FaultKind[]>("--faults")
{
    Description = "Fault kinds to draw from (default: all)", AllowMultipleArgumentsPerToken = true,
    DefaultValueFactory = _ => [.. ChaosOptions.AllFaults],
};
var basePort = new Option<int>("--base-port") { Description = "DMUC_LOCAL_BASE_PORT of the topology", DefaultValueFactory = _ => 4750 };
var runDirectory = new Option<string?>("--run-dir") { Description = "DMUC_LOCAL_RUN_DIR (must not exist; kept afterwards); default /tmp/dmuc-chaos-SEED-TIME" };
var plan = new Option<bool>("--plan") { Description = "Only print the faults a run of this seed and duration injects, with their start times if each recovery were instant" };
var check = new Option<FileInfo?>("--check") { Description = "Only check again a run's chaos-record.json (give the run's --seed for the table)" };
var root = new RootCommand("Chaos test of the local DMUC topology") { seed, duration, interval, faults, basePort, runDirectory, plan, check };
root.SetAction(async (parsed, cancellationToken) =>
{
    var options = new ChaosOptions(parsed.GetValue(seed), parsed.GetValue(duration), parsed.GetValue(interval), parsed.GetValue(faults)!);
    if (parsed.GetValue(check) is { } recorded)
    {
        await using var json = recorded.OpenRead();
        var verdictOfRecord = ChaosChecker.Check((await JsonSerializer.DeserializeAsync<ChaosRecord>(json, cancellationToken: cancellationToken))!);
        Console.WriteLine(ChaosReport.Format(options, verdictOfRecord));
        return verdictOfRecord.Passed ? 0 : 1;
    }
    if (parsed.GetValue(plan))
    {
        string[] hosts = ["avalon.irc", "killrc.oulubox.irc", "eris.dclxvii.irc", "vesa.yeggmaex.irc"];
        foreach (var (at, fault) in FaultSchedule.Plan(options.Seed, options.Faults, hosts, options.Duration))
            Console.WriteLine($"{at.TotalSeconds,7:0.0} s  {fault.Kind} {fault.Host} for {fault.Lasts.TotalSeconds:0.0} s");
        return 0;
    }
    var folder = parsed.GetValue(runDirectory) ?? $"/tmp/dmuc-chaos-{options.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
    Console.WriteLine($"# Chaos run: seed {options.Seed}, {options.Duration} of faults ({string.Join(", ", options.Faults)}), " +
                      $"one message per user every {options.MessageInterval.TotalSeconds:0.###} s; topology in {folder}");
    Console.WriteLine($"started {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
    await using var topology = await LocalTopology.UpAsync(parsed.GetValue(basePort), folder, cancellationToken);
    var record = await new ChaosRun(topology, options, Console.Out).RunAsync(cancellationToken);
    // Everything the clients recorded, for a closer look at what the checker found.
    await File.WriteAllTextAsync(Path.Combine(folder, "chaos-record.json"), JsonSerializer.Serialize(record), cancellationToken);
    var verdict = ChaosChecker.Check(record);
    Console.WriteLine($"finished {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {LoadAverage()}");
    Console.WriteLine();
    Console.WriteLine(ChaosReport.Format(options, verdict));
    Console.WriteLine($"Record: {Path.Combine(folder, "chaos-record.json")}; logs: {folder}/HOST/");
    return verdict.Passed ? 0 : 1;
});
return await root.Parse(args).InvokeAsync();

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
