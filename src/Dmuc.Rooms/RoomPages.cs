namespace Dmuc.Rooms;

/// <summary>One page of a room list, with where it starts in the whole list and how long that list is.</summary>
public sealed record RoomPage<T>(IReadOnlyList<T> Items, int FirstIndex, int Count)
{
    /// <summary>Rooms come after this page's last one.</summary>
    public bool HasMore => FirstIndex + Items.Count < Count;
}

/// <summary>
/// Pages through rooms kept in the order of their JIDs (ordinal), as the service's disco#items (XEP-0059) and the
/// management API's room list both do. A cursor is a room JID, and a page after (or before) one starts at the next
/// room in that order whether or not the cursor's room still exists, so paging goes on across rooms destroyed meanwhile.
/// </summary>
public static class RoomPages
{
    public static RoomPage<T> Select<T>(IReadOnlyList<T> byJid, Func<T, string> jidOf, ResultSetRequest request, int pageSize)
    {
        var (from, to) = (0, byJid.Count);
        // XEP-0059 §2.5: an index replaces after and before.
        if (request.Index is null)
        {
            if (request.After is { } after) from = FirstAfter(byJid, jidOf, after, inclusive: false);
            if (request.Before is { } before) to = Math.Max(from, FirstAfter(byJid, jidOf, before, inclusive: true));
        }
        var inRange = new ListSlice<T>(byJid, from, to - from);
        var (page, firstIndex) = request.Take(inRange, pageSize);
        return new RoomPage<T>(page, from + firstIndex, byJid.Count);
    }

    /// <summary>The position of the first room whose JID sorts after <paramref name="jid"/> (or equal to it, when inclusive).</summary>
    private static int FirstAfter<T>(IReadOnlyList<T> byJid, Func<T, string> jidOf, string jid, bool inclusive)
    {
        var (low, high) = (0, byJid.Count);
        while (low < high)
        {
            var middle = low + (high - low) / 2;
            var order = string.CompareOrdinal(jidOf(byJid[middle]), jid);
            if (order < 0 || (order == 0 && !inclusive)) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    private sealed class ListSlice<T>(IReadOnlyList<T> list, int offset, int count) : IReadOnlyList<T>
    {
        public T this[int index] => list[offset + index];
        public int Count => count;
        public IEnumerator<T> GetEnumerator()
        {
            for (var i = 0; i < count; i++) yield return list[offset + i];
        }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
