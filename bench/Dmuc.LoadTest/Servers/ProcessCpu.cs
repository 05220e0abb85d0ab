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

    /// <summary>CPU time all processes of the machine have used so far (every core's busy time, from /proc/stat).</summary>
    public static TimeSpan ReadMachine()
    {
        // "cpu  user nice system idle iowait irq softirq steal ...": busy is everything but idle and iowait.
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1).Take(8).Select(field => long.Parse(field, CultureInfo.InvariantCulture)).ToArray();
        var busyTicks = fields.Sum() - fields[3] - fields[4];
        return TimeSpan.FromSeconds((double)busyTicks / ClockTicksPerSecond);
    }

    [LibraryImport("libc")]
    private static partial long sysconf(int name);
}
