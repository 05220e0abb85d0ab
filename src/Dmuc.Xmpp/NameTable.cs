namespace Dmuc.Xmpp;

/// <summary>
/// Turns character spans into strings without allocating for names seen before. Element and attribute
/// names and namespace URIs come from a small vocabulary, so they are remembered as they appear, up to a
/// cap so a hostile peer cannot grow the table without bound. Attribute values only match a fixed list of
/// common values (ids and addresses are unique and not worth remembering).
/// </summary>
internal sealed class NameTable
{
    private const int MaxLearnedNames = 2048;

    private static readonly string[] CommonNames =
    [
        "message", "presence", "iq", "body", "subject", "thread", "error", "show", "status", "priority", "x",
        "item", "query", "delay", "stanza-id", "origin-id", "handshake", "stream", "features", "text", "ping",
        "id", "to", "from", "type", "lang", "xml", "xmlns", "version", "jid", "nick", "role",
        "affiliation", "code", "by", "stamp", "reason", "actor", "password", "history", "c", "hash", "node", "ver",
        "jabber:client", "jabber:component:accept", "http://etherx.jabber.org/streams",
        "urn:ietf:params:xml:ns:xmpp-streams", "urn:ietf:params:xml:ns:xmpp-stanzas",
        "http://jabber.org/protocol/muc", "http://jabber.org/protocol/muc#user",
        "http://jabber.org/protocol/muc#admin", "http://jabber.org/protocol/muc#owner",
        "urn:xmpp:delay", "urn:xmpp:sid:0", "urn:xmpp:ping", "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "jabber:x:data",
    ];

    private static readonly string[] CommonValues =
    [
        "groupchat", "chat", "normal", "headline", "error", "unavailable", "subscribe", "subscribed",
        "unsubscribe", "unsubscribed", "probe", "get", "set", "result", "away", "xa", "dnd", "en",
        "none", "member", "admin", "owner", "outcast", "moderator", "participant", "visitor",
        "cancel", "modify", "wait", "auth", "continue", "1.0", "0", "1", "true", "false",
    ];

    private readonly HashSet<string> _names = new(CommonNames, StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _nameLookup;
    private static readonly HashSet<string> Values = new(CommonValues, StringComparer.Ordinal);
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ValueLookup =
        Values.GetAlternateLookup<ReadOnlySpan<char>>();

    public NameTable() => _nameLookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Name(ReadOnlySpan<char> chars)
    {
        if (_nameLookup.TryGetValue(chars, out var known)) return known;
        var name = chars.ToString();
        if (_names.Count < MaxLearnedNames) _names.Add(name);
        return name;
    }

    public static string Value(ReadOnlySpan<char> chars) =>
        chars.IsEmpty ? "" : ValueLookup.TryGetValue(chars, out var known) ? known : chars.ToString();
}
