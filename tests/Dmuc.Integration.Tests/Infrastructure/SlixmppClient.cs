using System.Diagnostics;
using System.Text.Json;

namespace Dmuc.Integration.Tests.Infrastructure;

/// <summary>Runs a client check written with Debian's python3-slixmpp (Clients/*.py) and reads the JSON it prints.</summary>
public static class SlixmppClient
{
    // Debian's slixmpp is installed for the system interpreter only.
    private const string Python = "/usr/bin/python3";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Clients", script));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in {Timeout}: {await errors}");
        }
        var printed = (await output).Trim();
        if (process.ExitCode != 0 || printed.Length == 0)
            throw new InvalidOperationException($"{script} exited with {process.ExitCode}: {await errors}");
        return JsonDocument.Parse(printed.Split('\n')[^1]).RootElement.Clone();
    }
}
