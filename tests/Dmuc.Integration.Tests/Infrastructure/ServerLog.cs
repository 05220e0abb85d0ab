namespace Dmuc.Integration.Tests.Infrastructure;

/// <summary>A log file that a running server keeps writing, read along for what it says happened.</summary>
public sealed class ServerLog(string path)
{
    public string Path { get; } = path;

    public string Read()
    {
        try
        {
            // The server keeps the file open for writing; share it so we can read along.
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }

    public int CountOccurrences(string text)
    {
        var log = Read();
        var count = 0;
        for (var at = log.IndexOf(text, StringComparison.Ordinal); at >= 0; at = log.IndexOf(text, at + 1, StringComparison.Ordinal))
            count++;
        return count;
    }

    /// <summary>True once <paramref name="text"/> occurs more than <paramref name="occurrencesBefore"/> times; false if not within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForOccurrenceAsync(string text, int occurrencesBefore, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (CountOccurrences(text) <= occurrencesBefore)
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(20, cancellationToken);
        }
        return true;
    }

    public string Tail(int lines) => string.Join('\n', Read().Split('\n').TakeLast(lines));
}
