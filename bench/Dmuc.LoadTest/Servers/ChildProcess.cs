using System.Diagnostics;
using Dmuc.Testing;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// A server process started by the load test: its console output is kept (last lines only) for error
/// messages, and all of it in a file when asked, its CPU time can be read, and it is stopped with SIGTERM (SIGKILL if that
/// takes too long).
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 40;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly Queue<string> _outputTail;
    private readonly StreamWriter? _log;

    private ChildProcess(Process process, Queue<string> outputTail, StreamWriter? log)
    {
        _process = process;
        _outputTail = outputTail;
        _log = log;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public TimeSpan CpuTime => ProcessCpu.Read(_process.Id);

    /// <param name="logPath">Where all of the output goes too; null: only its last lines are kept.</param>
    public static ChildProcess Start(string executable, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, string? logPath = null)
    {
        var outputTail = new Queue<string>();
        var log = logPath is null ? null : new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = ChildServer.Start(executable, arguments, workingDirectory, environment, line => Keep(outputTail, log, line));
        return new ChildProcess(process, outputTail, log);
    }

    private static void Keep(Queue<string> outputTail, StreamWriter? log, string line)
    {
        lock (outputTail)
        {
            outputTail.Enqueue(line);
            if (outputTail.Count > KeptOutputLines) outputTail.Dequeue();
            log?.WriteLine(line);
        }
    }

    public string OutputTail()
    {
        lock (_outputTail) return string.Join('\n', _outputTail);
    }

    public async ValueTask DisposeAsync()
    {
        await ChildServer.StopAsync(_process, StopTimeout);
        _process.Dispose();
        lock (_outputTail) _log?.Dispose();
    }
}
