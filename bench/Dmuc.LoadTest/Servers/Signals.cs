using System.Runtime.InteropServices;

namespace Dmuc.LoadTest.Servers;

internal static partial class Signals
{
    private const int Sigterm = 15;

    /// <summary>Process.Kill only sends SIGKILL; servers should get the chance to shut down cleanly.</summary>
    public static void Terminate(int pid) => _ = kill(pid, Sigterm);

    [LibraryImport("libc")]
    private static partial int kill(int pid, int signal);
}
