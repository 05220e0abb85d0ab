using System.Diagnostics;

namespace Dmuc.Cli.Tests;

/// <summary>Debian's chromium, headless: what a page shows once its scripts ran, as DOM text and as a screenshot.</summary>
public static class HeadlessChromium
{
    private const string Executable = "chromium";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The page's DOM after <paramref name="scriptTime"/> of virtual time (its refreshes and fetches ran).</summary>
    public static Task<string> DumpDomAsync(string url, TimeSpan scriptTime) => RunAsync(url, scriptTime, "--dump-dom");

    /// <summary>Saves a PNG of the page, <paramref name="width"/> × <paramref name="height"/>, to <paramref name="file"/>.</summary>
    public static async Task ScreenshotAsync(string url, TimeSpan scriptTime, string file, int width, int height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.Delete(file);
        await RunAsync(url, scriptTime, $"--screenshot={file}", $"--window-size={width},{height}", "--hide-scrollbars");
        Assert.True(File.Exists(file), $"chromium wrote no screenshot to {file}");
    }

    private static async Task<string> RunAsync(string url, TimeSpan scriptTime, params string[] what)
    {
        var profile = Directory.CreateTempSubdirectory("dmuc-chromium-").FullName;
        // As root (CI, these machines) chromium runs only without its sandbox; the page is our own, on loopback.
        var start = new ProcessStartInfo(Executable,
            ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", $"--user-data-dir={profile}",
             $"--virtual-time-budget={(int)scriptTime.TotalMilliseconds}", .. what, url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)");
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(RunTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish within {RunTimeout.TotalSeconds} s: {await errors}");
            }
            finally
            {
                Directory.Delete(profile, recursive: true);
            }
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {await errors}");
            return await output;
        }
    }
}
