using Dmuc.Rooms;

namespace Dmuc.Host;

/// <summary>
/// How long room archives keep messages, bound from "Dmuc:ArchiveRetention" (docs/protocol/archive.md#retention). With
/// neither limit set, archives keep everything the journal holds.
/// </summary>
public sealed class ArchiveRetentionOptions
{
    /// <summary>Messages older than this expire (e.g. "30.00:00:00" for 30 days).</summary>
    public TimeSpan? MaxAge { get; set; }

    /// <summary>A room's archive keeps at most this many of its newest messages.</summary>
    public int? MaxMessages { get; set; }

    /// <summary>How often a live room looks for expired messages; a room also does when it starts.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(10);

    public ArchiveRetention? ToRetention() => MaxAge is null && MaxMessages is null ? null : new ArchiveRetention(MaxAge, MaxMessages);
}
