using System.Collections;
using System.Runtime.InteropServices;

namespace Dmuc.Host;

/// <summary>
/// Starts this process afresh in place (execve of its own executable and arguments): same PID, for its supervisor and for
/// whoever signals it, but nothing of the old image survives. An actor system shut down in the process did not always let go
/// of its connections: in a chaos run (docs/protocol/netjoin.md §7) a replica node's connection from its shut-down system
/// kept answering the primary's transport heartbeats for eight minutes while the cluster's messages went nowhere, the two
/// nodes unreachable to each other until the connection was killed from outside. .NET opens its sockets and files
/// close-on-exec, so the new image starts with none of them.
/// </summary>
public static class ProcessImage
{
    /// <summary>Replaces the process, with <paramref name="variable"/> set to <paramref name="value"/>; returns only if it could not (not Linux, or execve failed).</summary>
    public static void StartAgain(string variable, string value)
    {
        if (!OperatingSystem.IsLinux()) return;
        var arguments = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Where(entry => (string)entry.Key != variable)
            .Select(entry => $"{entry.Key}={entry.Value}")
            .Append($"{variable}={value}");
        Console.Out.Flush();
        Console.Error.Flush();
        Execve("/proc/self/exe", [.. arguments, null], [.. environment, null]);
    }

    // LPStr is UTF-8 on Linux.
    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static extern int Execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] arguments,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] environment);
}
