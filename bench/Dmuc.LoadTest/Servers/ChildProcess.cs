using System.Diagnostics;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// A server process started by the load test: its console output is kept (last lines only) for error
/// messages, its CPU time can be read, and it is stopped with SIGTERM (SIGKILL if that takes too long).
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 40;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly Queue<string> _outputTail = new();

    private ChildProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public TimeSpan CpuTime => ProcessCpu.Read(_process.Id);

    public static ChildProcess Start(string executable, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) startInfo.Environment[name] = value;
        var child = new ChildProcess(new Process { StartInfo = startInfo });
        child._process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_outputTail)
        {
            _outputTail.Enqueue(line);
            if (_outputTail.Count > KeptOutputLines) _outputTail.Dequeue();
        }
    }

    public string OutputTail()
    {
        lock (_outputTail) return string.Join('\n', _outputTail);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signals.Terminate(_process.Id);
            using var stopTimeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await _process.WaitForExitAsync(stopTimeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }
}
