using System.Globalization;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// An XEP-0313 query the room accepted, with its XEP-0059 paging: what to read from the archive and whom to answer.
/// Ids are the archive's UIDs, the rooms' XEP-0359 stanza-ids.
/// </summary>
/// <param name="WithNick">Only messages of this occupant (the 'with' field names room/nick).</param>
/// <param name="After">RSM &lt;after/&gt; or the after-id field: messages after this one.</param>
/// <param name="Before">RSM &lt;before&gt;id&lt;/before&gt; or the before-id field: messages before this one.</param>
/// <param name="FromEnd">The page is taken from the end of the matching messages (RSM &lt;before/&gt;, empty or not).</param>
/// <param name="Ids">Only these messages (the ids field).</param>
/// <param name="FlipPage">Newest first within the page (XEP-0313 &lt;flip-page/&gt;).</param>
public sealed record ArchiveQuery(
    Jid Room,
    Jid Requester,
    string IqId,
    string? QueryId,
    DateTimeOffset? Start,
    DateTimeOffset? End,
    string? WithNick,
    string? After,
    string? Before,
    bool FromEnd,
    IReadOnlySet<string>? Ids,
    int Max,
    bool FlipPage)
{
    public static readonly XNamespace Mam = "urn:xmpp:mam:2";
    public static readonly XNamespace Forward = "urn:xmpp:forward:0";

    /// <summary>A page with no &lt;max/&gt; holds this many messages; a larger &lt;max/&gt; is cut to <see cref="MaxPageSize"/>.</summary>
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 250;

    private static readonly HashSet<string> KnownFields = ["FORM_TYPE", "start", "end", "with", "after-id", "before-id", "ids"];

    /// <summary>The query in <paramref name="iq"/>, or why it cannot be run (an error condition and its text).</summary>
    public static (ArchiveQuery? Query, StanzaErrorCondition Problem, string? Why) Read(Jid room, Jid requester, XElement iq)
    {
        var query = iq.Element(Mam + "query")!;
        var form = query.Element(Ns.DataForms + "x") is { } x ? DataForm.Read(x) : null;
        // A form without FORM_TYPE is taken as ours (lenient with clients); another form type is not.
        if (form?.FormType is { } formType && formType != Mam.NamespaceName)
            return Refused(StanzaErrorCondition.BadRequest, "The form is not of type urn:xmpp:mam:2");
        if (form is not null && form.Fields.FirstOrDefault(field => !KnownFields.Contains(field)) is { } unknown)
            return Refused(StanzaErrorCondition.FeatureNotImplemented, $"The field {unknown} is not supported");
        if (!TryTime(form?.Value("start"), out var start) || !TryTime(form?.Value("end"), out var end))
            return Refused(StanzaErrorCondition.BadRequest, "start and end must be XEP-0082 date-times");
        string? withNick = null;
        if (form?.Value("with") is { Length: > 0 } with)
        {
            if (!Jid.TryParse(with, out var withJid)) return Refused(StanzaErrorCondition.JidMalformed, "with is not a JID");
            // Messages here are from room/nick: a 'with' anything else matches nothing.
            withNick = withJid.Bare == room ? withJid.Resource ?? "" : "\0";
        }
        var (rsm, malformed) = ResultSetRequest.Read(query.Element(ResultSetRequest.Rsm + "set"));
        if (rsm is null) return Refused(StanzaErrorCondition.BadRequest, malformed!);
        if (rsm.Index is not null)
            return Refused(StanzaErrorCondition.FeatureNotImplemented, "Paging by index is not supported");
        var ids = form?.Values("ids") is { Count: > 0 } listed ? listed.ToHashSet() : null;
        return (new ArchiveQuery(room, requester, iq.Attribute("id")?.Value ?? "", query.Attribute("queryid")?.Value,
            start, end, withNick,
            After: rsm.After ?? NullIfEmpty(form?.Value("after-id")),
            Before: rsm.Before ?? NullIfEmpty(form?.Value("before-id")),
            FromEnd: rsm.FromEnd || NullIfEmpty(form?.Value("before-id")) is not null,
            ids, rsm.PageSize(DefaultPageSize, MaxPageSize), query.Element(Mam + "flip-page") is not null), default, null);
    }

    /// <summary>The fields a query may carry (XEP-0313 §4.1.1, the answer to a get).</summary>
    public static XElement SupportedFields() => DataForm.Form("form", Mam.NamespaceName, null, null,
        DataForm.Field("with", "jid-single", null),
        DataForm.Field("start", "text-single", null),
        DataForm.Field("end", "text-single", null),
        DataForm.Field("before-id", "text-single", null),
        DataForm.Field("after-id", "text-single", null),
        DataForm.Field("ids", "list-multi", null).WithChild(new XElement((XNamespace)"http://jabber.org/protocol/xdata-validate" + "validate",
            new XAttribute("datatype", "xs:string"), new XElement((XNamespace)"http://jabber.org/protocol/xdata-validate" + "open"))));

    private static (ArchiveQuery?, StanzaErrorCondition, string?) Refused(StanzaErrorCondition condition, string why) => (null, condition, why);

    private static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text)) return true;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) return false;
        time = parsed;
        return true;
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
