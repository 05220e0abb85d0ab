using System.Globalization;
using System.Runtime.InteropServices;

namespace Dmuc.LoadTest.Servers;

/// <summary>CPU time (user + system) a process has used so far, from /proc/PID/stat.</summary>
internal static partial class ProcessCpu
{
    private const int ClockTicksPerSecondName = 2; // _SC_CLK_TCK
    private static readonly long ClockTicksPerSecond = sysconf(ClockTicksPerSecondName);

    public static TimeSpan Read(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return TimeSpan.Zero; // the process is gone; the caller reports what it measured before
        }
        // The command name (field 2) is in parentheses and may contain spaces: count fields after its end.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / ClockTicksPerSecond);
    }

    [LibraryImport("libc")]
    private static partial long sysconf(int name);
}
