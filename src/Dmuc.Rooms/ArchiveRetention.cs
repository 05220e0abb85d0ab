namespace Dmuc.Rooms;

/// <summary>
/// How long a room's archive keeps messages (XEP-0313 leaves it to the service; Prosody's muc_log_expires_after): a
/// message expires once it is older than <see cref="MaxAge"/> or once <see cref="MaxMessages"/> newer ones are archived,
/// and only after every message before it in the journal expired. Expiry thus takes the oldest part of the journal,
/// which the room can then delete behind a snapshot.
/// </summary>
/// <param name="MaxAge">Null: no limit by age.</param>
/// <param name="MaxMessages">Null: no limit by count.</param>
public sealed record ArchiveRetention(TimeSpan? MaxAge, int? MaxMessages)
{
    /// <summary>How many of the oldest <paramref name="messages"/> (in journal order) have expired at <paramref name="now"/>.</summary>
    public int ExpiredCount(IReadOnlyList<ArchivedMessage> messages, DateTimeOffset now)
    {
        var expired = MaxMessages is { } max ? Math.Max(0, messages.Count - max) : 0;
        if (MaxAge is { } age)
        {
            // A message held through a netsplit carries the time it was sent, so times are not quite in journal order.
            while (expired < messages.Count && messages[expired].Timestamp < now - age) expired++;
        }
        return expired;
    }
}
