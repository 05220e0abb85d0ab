using System.Globalization;
using Dmuc.Actors.Replication;

namespace Dmuc.Host;

/// <summary>
/// The replica links' keepalive timings (<c>dmuc.replication</c>), bound from "Dmuc:Replication". Shorter ones notice
/// a split sooner at the cost of more pings; drills and tests use a few hundred milliseconds.
/// </summary>
public sealed class ReplicationTimingOptions
{
    /// <summary>A link that has heard nothing from the other end for this long pings it.</summary>
    public TimeSpan? KeepaliveInterval { get; set; }

    /// <summary>A ping not answered within this marks the link split.</summary>
    public TimeSpan? PingTimeout { get; set; }

    /// <summary>How often a split link pings.</summary>
    public TimeSpan? SplitPingInterval { get; set; }

    public void Validate()
    {
        if (KeepaliveInterval <= TimeSpan.Zero || PingTimeout <= TimeSpan.Zero || SplitPingInterval <= TimeSpan.Zero)
            throw new InvalidSettingException("Dmuc:Replication: KeepaliveInterval, PingTimeout and SplitPingInterval must be positive");
    }

    /// <summary>The timings that were set, as HOCON; null when none was.</summary>
    public string? ToHocon()
    {
        var settings = new (string Key, TimeSpan? Value)[]
            {
                ("keepalive-interval", KeepaliveInterval), ("ping-timeout", PingTimeout), ("split-ping-interval", SplitPingInterval),
            }
            .Where(setting => setting.Value is not null)
            .Select(setting => $"{setting.Key} = {setting.Value!.Value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms")
            .ToList();
        return settings.Count == 0 ? null : $"{ReplicationSettings.ConfigPath} {{\n  {string.Join("\n  ", settings)}\n}}";
    }
}
