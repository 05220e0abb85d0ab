using System.Buffers;
using System.Text.Unicode;

namespace Dmuc.Xmpp;

/// <summary>
/// Buffered UTF-8 output over an <see cref="IBufferWriter{T}"/>: asks for a large span once and
/// advances in bulk, instead of a GetSpan/Advance pair per token.
/// </summary>
internal ref struct Utf8Output(IBufferWriter<byte> output)
{
    private const int ChunkSize = 4096;

    private Span<byte> _span;
    private int _buffered;
    private long _committed;

    public readonly long BytesWritten => _committed + _buffered;

    public void Write(scoped ReadOnlySpan<byte> bytes)
    {
        if (_span.Length - _buffered < bytes.Length) Reserve(bytes.Length);
        bytes.CopyTo(_span[_buffered..]);
        _buffered += bytes.Length;
    }

    public void Write(byte value)
    {
        if (_buffered == _span.Length) Reserve(1);
        _span[_buffered++] = value;
    }

    /// <summary>Writes characters needing no escaping; lone surrogates become U+FFFD.</summary>
    public void Write(scoped ReadOnlySpan<char> chars)
    {
        while (true)
        {
            Utf8.FromUtf16(chars, _span[_buffered..], out var read, out var written);
            _buffered += written;
            chars = chars[read..];
            if (chars.IsEmpty) return;
            Reserve(Math.Min(chars.Length * 3, ChunkSize * 4));
        }
    }

    public void Write(int value)
    {
        if (_span.Length - _buffered < 11) Reserve(11);
        value.TryFormat(_span[_buffered..], out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
        _buffered += written;
    }

    public void WriteEscaped(scoped ReadOnlySpan<char> chars, SearchValues<char> specials)
    {
        while (true)
        {
            var special = chars.IndexOfAny(specials);
            if (special < 0)
            {
                Write(chars);
                return;
            }
            Write(chars[..special]);
            Write(XmlChars.EscapeFor(chars[special]));
            chars = chars[(special + 1)..];
        }
    }

    public void Flush()
    {
        output.Advance(_buffered);
        _committed += _buffered;
        _buffered = 0;
        _span = default;
    }

    private void Reserve(int needed)
    {
        Flush();
        _span = output.GetSpan(Math.Max(needed, ChunkSize));
    }
}
