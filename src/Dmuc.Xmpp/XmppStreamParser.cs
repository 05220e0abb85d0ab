using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>What <see cref="XmppStreamParser"/> reports, in stream order, from inside <see cref="XmppStreamParser.Feed"/>.</summary>
public interface IXmppStreamHandler
{
    void OnStreamHeader(StreamHeader header);

    /// <summary>A complete child of the stream root: a stanza, &lt;handshake/&gt;, &lt;stream:error/&gt;, &lt;stream:features/&gt;…</summary>
    void OnElement(XElement element);

    /// <summary>
    /// A child of the stream root that broke a limit or misused namespaces; the parser skipped the rest of it
    /// without buffering and goes on with the next one. The stream itself is fine: the stanza came from a user
    /// through the server, and the sender deserves an error, not the stream.
    /// </summary>
    void OnRefused(RefusedStanza refused);

    /// <summary>The peer sent &lt;/stream:stream&gt;.</summary>
    void OnStreamEnd();
}

public enum StanzaRefusal
{
    TooLarge,
    TooDeep,

    /// <summary>An undeclared prefix or a misused namespace declaration: ejabberd 23.01 forwards prefixed
    /// attributes without the declaration the client sent.</summary>
    BadNamespaces,
}

/// <param name="Stanza">The refused element's name and attributes (from, to, id, type…) without its content. When its
/// start tag alone was over the size limit, only the name: the attributes were never read; when its own start tag
/// misused namespaces, only its unprefixed attributes.</param>
/// <param name="Reason">Which limit or rule it broke, for the sender.</param>
public sealed record RefusedStanza(XElement Stanza, StanzaRefusal Refusal, string Reason);

/// <param name="DefaultNamespace">The stream's content namespace, e.g. jabber:component:accept; empty if undeclared.</param>
public sealed record StreamHeader(string? Id, string? From, string? To, string? Version, string? Language, string DefaultNamespace);

/// <summary>
/// An incremental push parser for one XMPP stream (RFC 6120 restricted XML). Bytes may be fed in chunks split
/// anywhere. Elements in the stream's default namespace are delivered in <see cref="Ns.Client"/>. A stanza over
/// the size or depth limit is skipped and reported (<see cref="IXmppStreamHandler.OnRefused"/>); a violation of
/// the stream's rules throws <see cref="XmppStreamException"/> and leaves the parser unusable, as the stream must
/// then be closed. Not thread-safe: one reader feeds it.
/// </summary>
public sealed class XmppStreamParser
{
    /// <summary>
    /// Above what an XMPP server forwards for a client: Prosody and ejabberd take 256 KiB from a client and
    /// re-escape it on the way (Prosody writes each ' and " of text as &amp;apos; or &amp;quot;, six times the size).
    /// </summary>
    public const int DefaultMaxStanzaBytes = 2 * 1024 * 1024;

    /// <summary>Nesting below the stream root; real stanzas stay far below it, and it keeps recursive consumers off deep trees.</summary>
    public const int DefaultMaxDepth = 64;

    // A skipped token keeps only its end: enough to tell "/>" and "]]>" apart from the rest.
    private const int SkippedTokenTail = 2;
    // What a parser keeps between stanzas; one large stanza must not pin its buffers for the life of the stream.
    private const int RetainedTokenCapacity = 64 * 1024;

    private enum State { Content, MarkupStart, StartTag, EndTag, XmlDeclaration, Bang, CData, Closed }

    private static readonly SearchValues<byte> StartTagDelimiters = SearchValues.Create(">\"'"u8);
    private static readonly SearchValues<char> Whitespace = SearchValues.Create(" \t\r\n");
    private static readonly SearchValues<char> TextNeedingUnescape = SearchValues.Create("&\r");
    private static readonly SearchValues<char> AttributeNeedingUnescape = SearchValues.Create("&\r\n\t");
    private static readonly XName XmlLang = XNamespace.Xml + "lang";

    private readonly IXmppStreamHandler _handler;
    private readonly int _maxStanzaBytes;
    private readonly int _maxDepth;
    private readonly NameTable _names = new();
    private readonly ByteBuffer _token = new(1024);
    private char[] _chars = new char[1024];

    private State _state;
    private byte _quote;
    private int _cdataPrefixMatched;
    private long _elementBytes;
    private bool _skipping;
    private bool _sawXmlDeclaration;
    private bool _faulted;
    private string? _streamNamespace;

    // The open elements, the stream root at index 0; _depth counts them. While skipping, elements below the
    // refused stanza are counted but not recorded.
    private int _depth;
    private string[] _openNames = new string[8];
    private int[] _bindingMarks = new int[8];
    private XElement? _stanza;
    private XElement? _current;

    // In-scope namespace bindings, innermost last.
    private string[] _prefixes = new string[16];
    private XNamespace[] _namespaces = new XNamespace[16];
    private int _bindingCount;

    private RawAttribute[] _attributes = new RawAttribute[8];

    /// <summary>The bytes of buffer the parser holds on to between stanzas.</summary>
    internal int RetainedBufferBytes => _token.Capacity + _chars.Length * sizeof(char);

    public XmppStreamParser(IXmppStreamHandler handler, int maxStanzaBytes = DefaultMaxStanzaBytes, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStanzaBytes, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        _handler = handler;
        _maxStanzaBytes = maxStanzaBytes;
        _maxDepth = maxDepth;
        PushBinding("xml", XNamespace.Xml);
    }

    public void Feed(ReadOnlySpan<byte> data)
    {
        if (_faulted) throw new InvalidOperationException("The stream already failed; it must be closed.");
        try
        {
            while (!data.IsEmpty) data = data[Step(data)..];
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>Consumes a prefix of <paramref name="data"/>; returns its length.</summary>
    private int Step(ReadOnlySpan<byte> data) => _state switch
    {
        State.Content => ReadContent(data),
        State.MarkupStart => ReadMarkupStart(data[0]),
        State.StartTag => ReadStartTag(data),
        State.EndTag => ReadUntilTagEnd(data, ""u8),
        State.XmlDeclaration => ReadUntilTagEnd(data, "?"u8),
        State.Bang => ReadCDataPrefix(data[0]),
        State.CData => ReadUntilTagEnd(data, "]]"u8),
        _ => ReadAfterClose(data),
    };

    private int ReadContent(ReadOnlySpan<byte> data)
    {
        var markup = data.IndexOf((byte)'<');
        var text = markup < 0 ? data : data[..markup];
        if (_depth < 2)
        {
            if (text.ContainsAnyExcept(XmlChars.XmlWhitespace)) throw NotWellFormed("text outside a stanza");
            if (markup < 0) return data.Length;
            // A new top-level element (or the stream header) starts: its size is counted from this '<'.
            _elementBytes = 0;
            CountBytes(1);
        }
        else
        {
            CountBytes(markup < 0 ? text.Length : text.Length + 1);
            if (!_skipping) _token.Append(text);
            if (markup < 0) return data.Length;
            if (_token.Length > 0) ProcessText();
        }
        _state = State.MarkupStart;
        return markup + 1;
    }

    private int ReadMarkupStart(byte first)
    {
        switch (first)
        {
            case (byte)'/':
                if (_depth == 0) throw NotWellFormed("end tag before the stream header");
                _state = State.EndTag;
                break;
            case (byte)'?':
                if (_depth != 0 || _sawXmlDeclaration) throw Restricted("processing instruction");
                _state = State.XmlDeclaration;
                break;
            case (byte)'!':
                _cdataPrefixMatched = 0;
                _state = State.Bang;
                break;
            default:
                _quote = 0;
                _state = State.StartTag;
                return 0;
        }
        CountBytes(1);
        return 1;
    }

    private int ReadStartTag(ReadOnlySpan<byte> data)
    {
        var position = 0;
        while (position < data.Length)
        {
            var rest = data[position..];
            if (_quote != 0)
            {
                var closingQuote = rest.IndexOf(_quote);
                if (closingQuote < 0) break;
                position += closingQuote + 1;
                _quote = 0;
                continue;
            }
            var delimiter = rest.IndexOfAny(StartTagDelimiters);
            if (delimiter < 0) break;
            position += delimiter + 1;
            if (rest[delimiter] != (byte)'>')
            {
                _quote = rest[delimiter];
                continue;
            }
            // Appended before counting, so that a start tag over the limit has its name in the token.
            AppendToken(data[..(position - 1)]);
            CountBytes(position);
            _state = State.Content;
            if (_skipping) SkipStartTag();
            else ProcessStartTag();
            return position;
        }
        AppendToken(data);
        CountBytes(data.Length);
        return data.Length;
    }

    /// <summary>
    /// Buffers up to a '>' that follows <paramref name="requiredBefore"/> (e.g. the '>' of "]]>"),
    /// then processes the token without either.
    /// </summary>
    private int ReadUntilTagEnd(ReadOnlySpan<byte> data, ReadOnlySpan<byte> requiredBefore)
    {
        var position = 0;
        while (true)
        {
            var found = data[position..].IndexOf((byte)'>');
            if (found < 0)
            {
                CountBytes(data.Length - position);
                AppendToken(data[position..]);
                return data.Length;
            }
            var end = position + found + 1;
            CountBytes(end - position);
            AppendToken(data[position..(end - 1)]);
            position = end;
            if (!_token.WrittenSpan.EndsWith(requiredBefore))
            {
                AppendToken(">"u8);
                continue;
            }
            _token.Truncate(_token.Length - requiredBefore.Length);
            var completed = _state;
            _state = State.Content;
            switch (completed)
            {
                case State.EndTag when _skipping: SkipEndTag(); break;
                case State.EndTag: ProcessEndTag(); break;
                case State.XmlDeclaration: ProcessXmlDeclaration(); break;
                case State.CData when _skipping: _token.Clear(); break;
                default: ProcessCData(); break;
            }
            return position;
        }
    }

    private int ReadCDataPrefix(byte next)
    {
        if (_cdataPrefixMatched == 0)
        {
            if (next == (byte)'-') throw Restricted("comment");
            if (next == (byte)'D') throw Restricted("DOCTYPE");
        }
        if (next != "[CDATA["u8[_cdataPrefixMatched]) throw NotWellFormed("unknown markup after '<!'");
        CountBytes(1);
        if (++_cdataPrefixMatched == "[CDATA["u8.Length)
        {
            if (_depth < 2) throw NotWellFormed("CDATA section outside a stanza");
            _state = State.CData;
        }
        return 1;
    }

    private static int ReadAfterClose(ReadOnlySpan<byte> data)
    {
        if (data.ContainsAnyExcept(XmlChars.XmlWhitespace)) throw NotWellFormed("data after the stream was closed");
        return data.Length;
    }

    private void CountBytes(int count)
    {
        _elementBytes += count;
        if (_elementBytes > _maxStanzaBytes && !_skipping) RefuseOversized();
    }

    /// <summary>
    /// The stream header and the stream's end tag are the server's own; anything else this large is a stanza a
    /// user sent, which costs only that stanza.
    /// </summary>
    private void RefuseOversized()
    {
        if (_depth == 0 || _depth == 1 && _state != State.StartTag)
        {
            throw new XmppStreamException(StreamErrorCondition.PolicyViolation,
                $"stream header or end tag larger than {_maxStanzaBytes} bytes");
        }
        var stanza = _depth == 1 ? UnopenedStanzaShell() : _stanza!;
        StartSkipping(new RefusedStanza(stanza, StanzaRefusal.TooLarge, $"stanza larger than {_maxStanzaBytes} bytes"));
    }

    /// <summary>The name of a top-level element whose start tag is still arriving; its attributes may be incomplete.</summary>
    private XElement UnopenedStanzaShell()
    {
        var tag = _token.WrittenSpan;
        var nameEnd = tag.IndexOfAny(" \t\r\n/"u8);
        var name = Encoding.UTF8.GetString(nameEnd < 0 ? tag : tag[..nameEnd]);
        return new XElement(ShellName(name, ValidateQualifiedName(name)));
    }

    /// <summary>The name of a refused element that was never opened: a prefix may be declared in what was not read.</summary>
    private XName ShellName(ReadOnlySpan<char> qualifiedName, int colon) => colon < 0
        ? LookupNamespace("", qualifiedName).GetName(_names.Name(qualifiedName))
        : XNamespace.None.GetName(_names.Name(qualifiedName[(colon + 1)..]));

    /// <summary>
    /// Reports <paramref name="refused"/> and drops what was buffered of it; from here on its tokens are only
    /// scanned for the depth (<see cref="SkipStartTag"/>, <see cref="SkipEndTag"/>) until it ends.
    /// </summary>
    private void StartSkipping(RefusedStanza refused)
    {
        refused.Stanza.RemoveNodes();
        _handler.OnRefused(refused);
        _skipping = true;
        _stanza = _current = null;
        if (_depth > 1) _bindingCount = _bindingMarks[1];
        // Text is dropped whole; a tag's last bytes still tell how it ends.
        _token.KeepLast(_state == State.Content ? 0 : SkippedTokenTail, RetainedTokenCapacity);
    }

    private void SkipStartTag()
    {
        var selfClosing = _token.WrittenSpan.EndsWith("/"u8);
        _token.Clear();
        if (!selfClosing) _depth++;
        else if (_depth == 1) _skipping = false;
    }

    private void SkipEndTag()
    {
        _token.Clear();
        if (--_depth == 1) _skipping = false;
    }

    private void AppendToken(ReadOnlySpan<byte> bytes)
    {
        _token.Append(bytes);
        if (_skipping && _token.Length > SkippedTokenTail) _token.KeepLast(SkippedTokenTail);
    }

    private void ProcessText()
    {
        var text = DecodeToken();
        if (text.IndexOf("]]>") >= 0) throw NotWellFormed("']]>' in text");
        _current!.Add(new string(Unescape(text, attribute: false)));
    }

    private void ProcessCData() => _current!.Add(new string(DecodeToken()));

    private void ProcessXmlDeclaration()
    {
        var declaration = DecodeToken();
        if (declaration.Length < 4 || !declaration.StartsWith("xml") || !Whitespace.Contains(declaration[3]))
        {
            throw Restricted("processing instruction");
        }
        _sawXmlDeclaration = true;
    }

    private void ProcessEndTag()
    {
        var name = DecodeToken().TrimEnd(" \t\r\n");
        var open = _openNames[_depth - 1];
        if (!name.SequenceEqual(open)) throw NotWellFormed($"end tag '{name}' does not match '{open}'");
        CloseElement();
    }

    private void ProcessStartTag()
    {
        var tag = DecodeToken();
        if (tag.Contains('<')) throw NotWellFormed("'<' in a tag");
        var selfClosing = tag.EndsWith('/');
        if (selfClosing) tag = tag[..^1];
        if (_depth > _maxDepth)
        {
            RefuseAtStartTag(new RefusedStanza(_stanza!, StanzaRefusal.TooDeep, $"elements nested deeper than {_maxDepth} levels"), selfClosing);
            return;
        }

        var nameLength = tag.IndexOfAny(Whitespace);
        if (nameLength < 0) nameLength = tag.Length;
        var qualifiedName = tag[..nameLength];
        var nameColon = ValidateQualifiedName(qualifiedName);
        var attributeCount = ParseAttributes(tag, nameLength);

        if (_depth == 0) _streamNamespace = FindDefaultNamespaceDeclaration(tag, attributeCount) ?? "";
        var bindingMark = _bindingCount;
        XElement element;
        try
        {
            DeclareNamespaces(tag, attributeCount);
            element = new XElement(ResolveName(qualifiedName, nameColon, isAttribute: false));
            AddAttributes(element, tag, attributeCount);
        }
        catch (XmppStreamException violation) when (_depth > 0)
        {
            // The tokens are sound, only the names are not: the stanza can be skipped like any other refused one.
            _bindingCount = bindingMark;
            var stanza = _depth == 1 ? ShellOfUnprefixed(tag, qualifiedName, nameColon, attributeCount) : _stanza!;
            RefuseAtStartTag(new RefusedStanza(stanza, StanzaRefusal.BadNamespaces, violation.Text), selfClosing);
            return;
        }
        OpenElement(element, _names.Name(qualifiedName), bindingMark);
        if (selfClosing) CloseElement();
    }

    /// <summary>The element of a start tag refused before it was opened, counted open while its content is skipped.</summary>
    private void RefuseAtStartTag(RefusedStanza refused, bool selfClosing)
    {
        StartSkipping(refused);
        if (!selfClosing) _depth++;
        else if (_depth == 1) _skipping = false;
    }

    /// <summary>A top-level element whose own names did not resolve, with what needs no namespace: its unprefixed attributes.</summary>
    private XElement ShellOfUnprefixed(ReadOnlySpan<char> tag, ReadOnlySpan<char> qualifiedName, int nameColon, int attributeCount)
    {
        var shell = new XElement(ShellName(qualifiedName, nameColon));
        for (var i = 0; i < attributeCount; i++)
        {
            var attribute = _attributes[i];
            var name = attribute.Name(tag);
            if (attribute.Colon >= 0 || name.SequenceEqual("xmlns") || shell.Attribute(_names.Name(name)) is not null) continue;
            shell.Add(new XAttribute(_names.Name(name), NameTable.Value(attribute.Value(tag))));
        }
        return shell;
    }

    private int ParseAttributes(Span<char> tag, int position)
    {
        var count = 0;
        while (true)
        {
            var separatorStart = position;
            while (position < tag.Length && Whitespace.Contains(tag[position])) position++;
            if (position == tag.Length) return count;
            if (position == separatorStart) throw NotWellFormed("attributes must be separated by whitespace");

            var nameStart = position;
            while (position < tag.Length && tag[position] != '=' && !Whitespace.Contains(tag[position])) position++;
            var name = tag[nameStart..position];
            var colon = ValidateQualifiedName(name);
            while (position < tag.Length && Whitespace.Contains(tag[position])) position++;
            if (position == tag.Length || tag[position] != '=') throw NotWellFormed($"attribute '{name}' has no value");
            position++;
            while (position < tag.Length && Whitespace.Contains(tag[position])) position++;
            if (position == tag.Length || tag[position] is not ('"' or '\'')) throw NotWellFormed($"attribute '{name}' value is not quoted");
            var quote = tag[position];
            var valueStart = position + 1;
            var valueLength = tag[valueStart..].IndexOf(quote);
            if (valueLength < 0) throw NotWellFormed($"attribute '{name}' value is not terminated");
            position = valueStart + valueLength + 1;

            for (var i = 0; i < count; i++)
            {
                if (tag.Slice(_attributes[i].NameStart, _attributes[i].NameLength).SequenceEqual(name))
                {
                    throw NotWellFormed($"duplicate attribute '{name}'");
                }
            }
            if (count == _attributes.Length) Array.Resize(ref _attributes, count * 2);
            var value = Unescape(tag.Slice(valueStart, valueLength), attribute: true);
            _attributes[count++] = new RawAttribute(nameStart, name.Length, colon, valueStart, value.Length);
        }
    }

    private string? FindDefaultNamespaceDeclaration(ReadOnlySpan<char> tag, int attributeCount)
    {
        for (var i = 0; i < attributeCount; i++)
        {
            var attribute = _attributes[i];
            if (attribute.Name(tag).SequenceEqual("xmlns")) return _names.Name(attribute.Value(tag));
        }
        return null;
    }

    private void DeclareNamespaces(ReadOnlySpan<char> tag, int attributeCount)
    {
        for (var i = 0; i < attributeCount; i++)
        {
            var attribute = _attributes[i];
            var name = attribute.Name(tag);
            if (name.SequenceEqual("xmlns"))
            {
                PushBinding("", NamespaceFor(_names.Name(attribute.Value(tag))));
            }
            else if (attribute.Colon == 5 && name.StartsWith("xmlns:"))
            {
                var prefix = name[6..];
                var uri = _names.Name(attribute.Value(tag));
                if (uri.Length == 0) throw NotWellFormed($"prefix '{prefix}' bound to an empty namespace");
                if (prefix.SequenceEqual("xmlns") || prefix.SequenceEqual("xml") != (uri == XNamespace.Xml.NamespaceName))
                {
                    throw NotWellFormed($"reserved prefix or namespace misused in '{name}'");
                }
                PushBinding(_names.Name(prefix), NamespaceFor(uri));
            }
        }
    }

    private void AddAttributes(XElement element, ReadOnlySpan<char> tag, int attributeCount)
    {
        for (var i = 0; i < attributeCount; i++)
        {
            var attribute = _attributes[i];
            var name = attribute.Name(tag);
            if (name.StartsWith("xmlns") && (name.Length == 5 || attribute.Colon == 5)) continue;
            var resolved = ResolveName(name, attribute.Colon, isAttribute: true);
            if (element.Attribute(resolved) is not null) throw NotWellFormed($"duplicate attribute '{resolved}'");
            element.Add(new XAttribute(resolved, NameTable.Value(attribute.Value(tag))));
        }
    }

    private void OpenElement(XElement element, string qualifiedName, int bindingMark)
    {
        switch (_depth)
        {
            case 0:
                if (element.Name != Ns.Streams + "stream") throw new XmppStreamException(
                    StreamErrorCondition.InvalidNamespace, $"expected a stream header, got '{element.Name}'");
                _handler.OnStreamHeader(new StreamHeader(
                    (string?)element.Attribute("id"), (string?)element.Attribute("from"), (string?)element.Attribute("to"),
                    (string?)element.Attribute("version"), (string?)element.Attribute(XmlLang), _streamNamespace!));
                break;
            case 1:
                _stanza = element;
                break;
            default:
                _current!.Add(element);
                break;
        }
        _current = element;
        if (_depth == _openNames.Length)
        {
            Array.Resize(ref _openNames, _depth * 2);
            Array.Resize(ref _bindingMarks, _depth * 2);
        }
        _openNames[_depth] = qualifiedName;
        _bindingMarks[_depth] = bindingMark;
        _depth++;
    }

    private void CloseElement()
    {
        _depth--;
        _bindingCount = _bindingMarks[_depth];
        switch (_depth)
        {
            case 0:
                _state = State.Closed;
                _handler.OnStreamEnd();
                break;
            case 1:
                var stanza = _stanza!;
                _stanza = _current = null;
                if (_chars.Length > RetainedTokenCapacity) _chars = new char[1024];
                _handler.OnElement(stanza);
                break;
            default:
                _current = _current!.Parent;
                break;
        }
    }

    private XName ResolveName(ReadOnlySpan<char> qualifiedName, int colon, bool isAttribute)
    {
        if (colon < 0)
        {
            var local = _names.Name(qualifiedName);
            return isAttribute ? XNamespace.None.GetName(local) : LookupNamespace("", qualifiedName).GetName(local);
        }
        return LookupNamespace(qualifiedName[..colon], qualifiedName).GetName(_names.Name(qualifiedName[(colon + 1)..]));
    }

    private XNamespace LookupNamespace(ReadOnlySpan<char> prefix, ReadOnlySpan<char> qualifiedName)
    {
        for (var i = _bindingCount - 1; i >= 0; i--)
        {
            if (prefix.SequenceEqual(_prefixes[i])) return _namespaces[i];
        }
        return prefix.IsEmpty ? XNamespace.None : throw NotWellFormed($"unbound prefix in '{qualifiedName}'");
    }

    private XNamespace NamespaceFor(string uri) =>
        uri == _streamNamespace ? Ns.Client : uri.Length == 0 ? XNamespace.None : XNamespace.Get(uri);

    private void PushBinding(string prefix, XNamespace ns)
    {
        if (_bindingCount == _prefixes.Length)
        {
            Array.Resize(ref _prefixes, _bindingCount * 2);
            Array.Resize(ref _namespaces, _bindingCount * 2);
        }
        _prefixes[_bindingCount] = prefix;
        _namespaces[_bindingCount] = ns;
        _bindingCount++;
    }

    /// <summary>Decodes and consumes the buffered token, rejecting invalid UTF-8 and characters XML does not allow.</summary>
    private Span<char> DecodeToken()
    {
        var bytes = _token.WrittenSpan;
        if (_chars.Length < bytes.Length) _chars = new char[Math.Max(bytes.Length, _chars.Length * 2)];
        if (Utf8.ToUtf16(bytes, _chars, out _, out var length, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            throw NotWellFormed("invalid UTF-8");
        }
        _token.Clear(RetainedTokenCapacity);
        var chars = _chars.AsSpan(0, length);
        if (chars.ContainsAny(XmlChars.ForbiddenChars)) throw NotWellFormed("character not allowed in XML");
        return chars;
    }

    /// <summary>
    /// Resolves references and normalizes line ends (XML 1.0 §2.11) and, in attribute values, whitespace
    /// (§3.3.3) in place: the result is never longer than the input.
    /// </summary>
    private static Span<char> Unescape(Span<char> chars, bool attribute)
    {
        var read = chars.IndexOfAny(attribute ? AttributeNeedingUnescape : TextNeedingUnescape);
        if (read < 0) return chars;
        var write = read;
        while (read < chars.Length)
        {
            var c = chars[read++];
            switch (c)
            {
                case '&':
                    read = ResolveReference(chars, read, ref write);
                    break;
                case '\r':
                    if (read < chars.Length && chars[read] == '\n') read++;
                    chars[write++] = attribute ? ' ' : '\n';
                    break;
                case '\n' or '\t' when attribute:
                    chars[write++] = ' ';
                    break;
                default:
                    chars[write++] = c;
                    break;
            }
        }
        return chars[..write];
    }

    /// <summary>Resolves the reference whose name starts at <paramref name="start"/>; returns the index after its ';'.</summary>
    private static int ResolveReference(Span<char> chars, int start, ref int write)
    {
        var length = chars[start..].IndexOf(';');
        if (length <= 0) throw NotWellFormed("'&' not starting a reference");
        var name = chars.Slice(start, length);
        if (name[0] == '#')
        {
            var isHex = name.Length > 1 && name[1] == 'x';
            var digits = name[(isHex ? 2 : 1)..];
            if (!int.TryParse(digits, isHex ? NumberStyles.AllowHexSpecifier : NumberStyles.None,
                    CultureInfo.InvariantCulture, out var codePoint) || !XmlChars.IsValidCodePoint(codePoint))
            {
                throw NotWellFormed($"invalid character reference '&{name};'");
            }
            write += new Rune(codePoint).EncodeToUtf16(chars[write..]);
        }
        else
        {
            chars[write++] = name switch
            {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => throw UnknownEntity(name),
            };
        }
        return start + length + 1;
    }

    /// <summary>Any other named entity would need a DTD to define it, hence restricted rather than malformed.</summary>
    private static XmppStreamException UnknownEntity(ReadOnlySpan<char> name)
    {
        ValidateQualifiedName(name);
        return Restricted($"entity reference '&{name};'");
    }

    /// <summary>Checks an XML qualified name; returns the index of its prefix colon, or -1.</summary>
    private static int ValidateQualifiedName(ReadOnlySpan<char> name)
    {
        var colon = -1;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var valid = c switch
            {
                >= 'a' and <= 'z' or >= 'A' and <= 'Z' or '_' or > '\u007F' => true,
                >= '0' and <= '9' or '-' or '.' => i > 0,
                ':' => i > 0 && i < name.Length - 1 && colon < 0,
                _ => false,
            };
            if (!valid) throw NotWellFormed($"invalid name '{name}'");
            if (c == ':') colon = i;
        }
        if (name.IsEmpty) throw NotWellFormed("empty name");
        return colon;
    }

    private static XmppStreamException NotWellFormed(string text) =>
        new(StreamErrorCondition.NotWellFormed, text);

    private static XmppStreamException Restricted(string what) =>
        new(StreamErrorCondition.RestrictedXml, $"{what} not allowed on an XMPP stream");

    private readonly record struct RawAttribute(int NameStart, int NameLength, int Colon, int ValueStart, int ValueLength)
    {
        public ReadOnlySpan<char> Name(ReadOnlySpan<char> tag) => tag.Slice(NameStart, NameLength);
        public ReadOnlySpan<char> Value(ReadOnlySpan<char> tag) => tag.Slice(ValueStart, ValueLength);
    }
}
