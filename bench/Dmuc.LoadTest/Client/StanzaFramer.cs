namespace Dmuc.LoadTest.Client;

/// <summary>
/// Cuts an XMPP stream into its top-level elements without parsing them: it only tracks tag depth and quoted
/// attribute values, which is all it takes to find where a stanza ends. Bytes are appended through
/// <see cref="FreeSpace"/>/<see cref="Commit"/>; a stanza split across reads is kept until it is complete.
/// </summary>
/// <remarks>
/// A load generator that builds a DOM for every delivery would measure itself; this costs a few ns per byte.
/// XMPP forbids comments, processing instructions (other than the declaration) and DTDs in streams, so tags,
/// quotes and the <c>&lt;?xml?&gt;</c> declaration are the only constructs to know.
/// </remarks>
public sealed class StanzaFramer
{
    private enum Mode { Text, TagStart, InTag, InQuote }

    private byte[] _buffer;
    private int _dataEnd;
    private int _scan;
    private int _depth;
    private int _tagStart;
    private int _elementStart;
    private Mode _mode = Mode.Text;
    private bool _closingTag;
    private bool _declaration;
    private bool _previousWasSlash;
    private byte _quote;

    public StanzaFramer(int initialCapacity = 16 * 1024) => _buffer = new byte[initialCapacity];

    /// <summary>True once the server's &lt;stream:stream&gt; header has been read.</summary>
    public bool StreamOpened { get; private set; }

    /// <summary>True once the server sent &lt;/stream:stream&gt;.</summary>
    public bool StreamClosed { get; private set; }

    /// <summary>Room for the next read; moves pending bytes to the front (or grows) when needed.</summary>
    public Memory<byte> FreeSpace(int minimum = 4096)
    {
        if (_buffer.Length - _dataEnd >= minimum) return _buffer.AsMemory(_dataEnd);
        var keepFrom = _depth >= 2 ? _elementStart : _mode == Mode.Text ? _scan : _tagStart;
        var pending = _dataEnd - keepFrom;
        var target = pending + minimum > _buffer.Length ? new byte[Math.Max(_buffer.Length * 2, pending + minimum)] : _buffer;
        Buffer.BlockCopy(_buffer, keepFrom, target, 0, pending);
        _buffer = target;
        _dataEnd -= keepFrom;
        _scan -= keepFrom;
        _tagStart -= keepFrom;
        _elementStart -= keepFrom;
        return _buffer.AsMemory(_dataEnd);
    }

    public void Commit(int bytesRead) => _dataEnd += bytesRead;

    /// <summary>Forgets everything: the server starts a new stream (after SASL success).</summary>
    public void Restart()
    {
        _dataEnd = _scan = _depth = _tagStart = _elementStart = 0;
        _mode = Mode.Text;
        StreamOpened = StreamClosed = false;
    }

    /// <summary>The next complete top-level element (a stanza or a negotiation element), if one is buffered.</summary>
    public bool TryNext(out ReadOnlySpan<byte> element)
    {
        var buffer = _buffer;
        for (var i = _scan; i < _dataEnd; i++)
        {
            var b = buffer[i];
            switch (_mode)
            {
                case Mode.Text:
                    if (b == '<')
                    {
                        _tagStart = i;
                        _mode = Mode.TagStart;
                    }
                    break;
                case Mode.TagStart:
                    _closingTag = b == '/';
                    _declaration = b is (byte)'?' or (byte)'!';
                    _previousWasSlash = false;
                    if (!_closingTag && !_declaration && _depth == 1) _elementStart = _tagStart;
                    _mode = Mode.InTag;
                    break;
                case Mode.InTag:
                    if (b is (byte)'"' or (byte)'\'')
                    {
                        _quote = b;
                        _mode = Mode.InQuote;
                    }
                    else if (b == '>')
                    {
                        _mode = Mode.Text;
                        if (TagEndsElement())
                        {
                            _scan = i + 1;
                            element = buffer.AsSpan(_elementStart, i + 1 - _elementStart);
                            return true;
                        }
                    }
                    else
                    {
                        _previousWasSlash = b == '/';
                    }
                    break;
                case Mode.InQuote:
                    if (b == _quote)
                    {
                        _mode = Mode.InTag;
                        _previousWasSlash = false;
                    }
                    break;
            }
        }
        _scan = _dataEnd;
        element = default;
        return false;
    }

    /// <summary>Applies the tag that just ended; true when it completed a top-level element.</summary>
    private bool TagEndsElement()
    {
        if (_declaration) return false;
        if (_closingTag)
        {
            _depth--;
            if (_depth == 0) StreamClosed = true;
            return _depth == 1;
        }
        if (_previousWasSlash) return _depth == 1;
        _depth++;
        if (_depth == 1) StreamOpened = true;
        return false;
    }
}
