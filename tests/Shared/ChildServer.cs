using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dmuc.Testing;

/// <summary>
/// Starts and stops the server processes (Prosody, ejabberd) that the tests and the load tool run. Compiled into
/// tests/Dmuc.Integration.Tests and bench/Dmuc.LoadTest as a linked source file.
/// </summary>
internal static class ChildServer
{
    private const int Sigterm = 15;

    /// <summary>Starts <paramref name="executable"/> with its console output, line by line, going to <paramref name="outputLine"/>.</summary>
    public static Process Start(string executable, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment, Action<string> outputLine)
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
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) outputLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) outputLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// SIGTERM first, so the server can shut down cleanly (close its streams, flush its log), SIGKILL if it has not
    /// exited within <paramref name="gracePeriod"/>. Process.Kill only sends SIGKILL.
    /// </summary>
    public static async Task StopAsync(Process process, TimeSpan gracePeriod)
    {
        if (process.HasExited) return;
        _ = Kill(process.Id, Sigterm);
        using var timeout = new CancellationTokenSource(gracePeriod);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
