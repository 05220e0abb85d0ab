using System.Globalization;
using System.Xml.Linq;

namespace Dmuc.Rooms;

/// <summary>
/// An XEP-0059 result set management request (&lt;set xmlns='http://jabber.org/protocol/rsm'/&gt;), as every paged
/// query of the service reads it: the archive (XEP-0313) and the service's room list (disco#items).
/// </summary>
/// <param name="Max">&lt;max/&gt;: at most this many items; 0 asks for the count alone; null when not given.</param>
/// <param name="After">&lt;after&gt;id&lt;/after&gt;: the page after this item.</param>
/// <param name="Before">&lt;before&gt;id&lt;/before&gt;: the page before this item.</param>
/// <param name="FromEnd">&lt;before/&gt;, empty or not: the page is taken from the end of the matching items.</param>
/// <param name="Index">&lt;index/&gt;: the page starts at this position of the whole result.</param>
public sealed record ResultSetRequest(int? Max, string? After, string? Before, bool FromEnd, int? Index)
{
    public static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";

    public static readonly ResultSetRequest None = new(null, null, null, FromEnd: false, null);

    /// <summary>The request in <paramref name="set"/> (None without one), or why it is malformed (bad-request).</summary>
    public static (ResultSetRequest? Request, string? Problem) Read(XElement? set)
    {
        if (set is null) return (None, null);
        var max = set.Element(Rsm + "max")?.Value;
        var index = set.Element(Rsm + "index")?.Value;
        int? maxValue = null, indexValue = null;
        if (max is not null)
        {
            if (!TryCount(max, out var parsed)) return (null, "max must be a number");
            maxValue = parsed;
        }
        if (index is not null)
        {
            if (!TryCount(index, out var parsed)) return (null, "index must be a number");
            indexValue = parsed;
        }
        var before = set.Element(Rsm + "before");
        return (new ResultSetRequest(maxValue, NullIfEmpty(set.Element(Rsm + "after")?.Value), NullIfEmpty(before?.Value),
            FromEnd: before is not null, indexValue), null);
    }

    /// <summary>How many items the page holds: what was asked for, or <paramref name="defaultSize"/>, and never more than <paramref name="largest"/>.</summary>
    public int PageSize(int defaultSize, int largest) => Math.Min(Max ?? defaultSize, largest);

    /// <summary>
    /// The page of <paramref name="inRange"/> (the items between after and before, in order) this request asks for: from
    /// its index, from its end for &lt;before/&gt;, else from its start.
    /// </summary>
    /// <returns>The page and the position of its first item within <paramref name="inRange"/>.</returns>
    public (IReadOnlyList<T> Page, int FirstIndex) Take<T>(IReadOnlyList<T> inRange, int pageSize)
    {
        var size = Math.Max(0, pageSize);
        var start = Index is { } index ? Math.Min(index, inRange.Count)
            : FromEnd ? Math.Max(0, inRange.Count - size)
            : 0;
        var take = Math.Min(size, inRange.Count - start);
        var page = new List<T>(take);
        for (var i = start; i < start + take; i++) page.Add(inRange[i]);
        return (page, start);
    }

    /// <summary>
    /// The &lt;set/&gt; of an answer: the first and last item of the page (none for an empty page) and how many items the
    /// whole result has. No index on &lt;first/&gt; (XEP-0059 leaves it optional): slixmpp 1.8 takes first index + page
    /// size = count as the end of the results even when paging backwards, and would stop after the last page.
    /// </summary>
    public static XElement Reply(string? first, string? last, int count) =>
        new(Rsm + "set",
            first is null ? null : new XElement(Rsm + "first", first),
            last is null ? null : new XElement(Rsm + "last", last),
            new XElement(Rsm + "count", count.ToString(CultureInfo.InvariantCulture)));

    private static bool TryCount(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
