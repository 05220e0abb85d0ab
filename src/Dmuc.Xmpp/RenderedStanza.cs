using System.Buffers;
using System.Text;
using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>
/// A stanza rendered once for many recipients. Everything but the top-level <c>to</c> is pre-encoded;
/// each recipient's address is spliced in right after the element name, so a broadcast to N occupants
/// costs one render and N copies.
/// </summary>
public sealed class RenderedStanza
{
    private static readonly XName To = "to";

    private readonly byte[] _bytes;
    private readonly int _spliceAt;
    private int? _hash;

    /// <summary>Stanzas that render to the same bytes (whatever their elements): each recipient would get the same.</summary>
    public static IEqualityComparer<RenderedStanza> SameBytes { get; } = new SameBytesComparer();

    private RenderedStanza(byte[] bytes, int spliceAt)
    {
        _bytes = bytes;
        _spliceAt = spliceAt;
    }

    /// <summary>Renders <paramref name="stanza"/> without its own <c>to</c>; each recipient's replaces it.</summary>
    public static RenderedStanza Render(XElement stanza)
    {
        var scratch = ByteBuffer.Scratch();
        var writer = new Utf8Output(scratch);
        StanzaWriter.WriteElement(ref writer, stanza, Ns.Client, To, out var nameEnd);
        writer.Flush();
        return new RenderedStanza(scratch.WrittenSpan.ToArray(), (int)nameEnd);
    }

    /// <summary>The size of the stanza addressed to <paramref name="to"/> (null: no <c>to</c> at all).</summary>
    public int GetByteCount(string? to) =>
        to is null ? _bytes.Length : _bytes.Length + ToPrefix.Length + Encoding.UTF8.GetByteCount(StanzaWriter.EscapeAttribute(to)) + 1;

    /// <summary>Copies the stanza addressed to <paramref name="to"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public int CopyTo(Span<byte> destination, string? to) => CopyEscaped(destination, to is null ? null : StanzaWriter.EscapeAttribute(to));

    private int CopyEscaped(Span<byte> destination, string? escaped)
    {
        if (escaped is null)
        {
            _bytes.CopyTo(destination);
            return _bytes.Length;
        }
        var start = _bytes.AsSpan(0, _spliceAt);
        start.CopyTo(destination);
        var position = start.Length;
        ToPrefix.CopyTo(destination[position..]);
        position += ToPrefix.Length;
        position += Encoding.UTF8.GetBytes(escaped, destination[position..]);
        destination[position++] = (byte)'"';
        _bytes.AsSpan(_spliceAt).CopyTo(destination[position..]);
        return position + _bytes.Length - _spliceAt;
    }

    public void WriteTo(IBufferWriter<byte> output, string? to)
    {
        // Once per recipient of every broadcast: the address is escaped once, with room for its longest encoding, where counting
        // its bytes exactly first went over it twice more.
        var escaped = to is null ? null : StanzaWriter.EscapeAttribute(to);
        var span = output.GetSpan(escaped is null ? _bytes.Length : _bytes.Length + ToPrefix.Length + Encoding.UTF8.GetMaxByteCount(escaped.Length) + 1);
        output.Advance(CopyEscaped(span, escaped));
    }

    public void WriteTo(IBufferWriter<byte> output, Jid to) => WriteTo(output, to.ToString());

    /// <summary>
    /// This stanza for a multicast service, with its recipients in <paramref name="form"/>: as an XEP-0033
    /// <c>&lt;addresses/&gt;</c> block naming each recipient as a blind copy, so that the service tells no recipient who
    /// else received it, or as Dmuc's compact list (docs/protocol/multicast.md). Its <c>to</c> (the service) is spliced in
    /// like any recipient's.
    /// </summary>
    public RenderedStanza WithRecipients(ReadOnlySpan<string> recipients, RecipientListForm form)
    {
        var selfClosing = _bytes.AsSpan().EndsWith("/>"u8);
        // A self-closing stanza (<presence/>) gets an end tag, so that it can hold the list.
        var bodyEnd = selfClosing ? _bytes.Length - 2 : _bytes.AsSpan().LastIndexOf("</"u8);
        var scratch = ByteBuffer.Scratch();
        scratch.Append(_bytes.AsSpan(0, bodyEnd));
        if (selfClosing) scratch.Append(">"u8);
        if (form == RecipientListForm.Compact) AppendCompactList(scratch, recipients);
        else AppendBlindCopies(scratch, recipients);
        if (selfClosing)
        {
            scratch.Append("</"u8);
            scratch.Append(_bytes.AsSpan(1, _spliceAt - 1));
            scratch.Append(">"u8);
        }
        else scratch.Append(_bytes.AsSpan(bodyEnd));
        return new RenderedStanza(scratch.WrittenSpan.ToArray(), _spliceAt);
    }

    private static void AppendBlindCopies(ByteBuffer scratch, ReadOnlySpan<string> recipients)
    {
        scratch.Append("<addresses xmlns='http://jabber.org/protocol/address'>"u8);
        foreach (var recipient in recipients)
        {
            scratch.Append("<address type='bcc' jid=\""u8);
            Encoding.UTF8.GetBytes(StanzaWriter.EscapeAttribute(recipient).AsSpan(), scratch);
            scratch.Append("\"/>"u8);
        }
        scratch.Append("</addresses>"u8);
    }

    // One text node: the server's parser builds one string instead of an element and its attributes per recipient
    // (docs/protocol/multicast.md has what that saves). The separator is a tab: a JID has no control character in any
    // part (RFC 7622; Jid refuses them), and unlike a newline it does not cut the text into one parser callback a line.
    private static void AppendCompactList(ByteBuffer scratch, ReadOnlySpan<string> recipients)
    {
        scratch.Append("<recipients xmlns='urn:xmpp:tmp:dmuc:multicast:0'>"u8);
        for (var index = 0; index < recipients.Length; index++)
        {
            if (index > 0) scratch.Append("\t"u8);
            Encoding.UTF8.GetBytes(StanzaWriter.EscapeAttribute(recipients[index]).AsSpan(), scratch);
        }
        scratch.Append("</recipients>"u8);
    }

    private static ReadOnlySpan<byte> ToPrefix => " to=\""u8;

    private sealed class SameBytesComparer : IEqualityComparer<RenderedStanza>
    {
        public bool Equals(RenderedStanza? x, RenderedStanza? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x._spliceAt == y._spliceAt && x._bytes.AsSpan().SequenceEqual(y._bytes));

        public int GetHashCode(RenderedStanza stanza)
        {
            if (stanza._hash is { } hash) return hash;
            var hasher = new HashCode();
            hasher.AddBytes(stanza._bytes);
            return (stanza._hash = hasher.ToHashCode()).Value;
        }
    }
}

/// <summary>How a stanza to a multicast service names its recipients (<see cref="RenderedStanza.WithRecipients"/>).</summary>
public enum RecipientListForm
{
    /// <summary>XEP-0033: one <c>&lt;address type='bcc'/&gt;</c> element a recipient.</summary>
    BlindCopies,

    /// <summary>Dmuc's own, for its server modules that announce it: the JIDs in one text node, separated by tabs.</summary>
    Compact,
}
