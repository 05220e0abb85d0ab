using System.Buffers;

namespace Dmuc.Xmpp;

/// <summary>
/// A growable byte buffer that, unlike ArrayBufferWriter, can be truncated (to undo a half-written
/// stanza) and shrunk back after a burst so an idle connection does not pin a large array.
/// </summary>
internal sealed class ByteBuffer(int initialCapacity = 4096) : IBufferWriter<byte>
{
    private const int MaxRetainedScratch = 64 * 1024;

    // Rendering goes through a per-thread scratch buffer, so that it allocates only its result.
    [ThreadStatic] private static ByteBuffer? t_scratch;

    private byte[] _buffer = new byte[initialCapacity];

    /// <summary>
    /// This thread's scratch buffer, empty: for a rendering that copies its result out before anything else on the thread
    /// renders (<see cref="RenderedStanza"/>, <see cref="StanzaText"/>).
    /// </summary>
    public static ByteBuffer Scratch()
    {
        var scratch = t_scratch ??= new ByteBuffer();
        scratch.Clear(MaxRetainedScratch);
        return scratch;
    }

    public int Length { get; private set; }
    public int Capacity => _buffer.Length;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Length);
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Length);

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - Length)) throw new ArgumentOutOfRangeException(nameof(count));
        Length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsMemory(Length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsSpan(Length);
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        EnsureFree(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(Length));
        Length += bytes.Length;
    }

    public void Truncate(int length)
    {
        if ((uint)length > (uint)Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    /// <summary>Empties the buffer, dropping its array if it grew beyond <paramref name="maxRetainedCapacity"/>.</summary>
    public void Clear(int maxRetainedCapacity = int.MaxValue)
    {
        Length = 0;
        if (_buffer.Length > maxRetainedCapacity) _buffer = new byte[initialCapacity];
    }

    /// <summary>
    /// Keeps only the last <paramref name="count"/> bytes, dropping the array if it grew beyond
    /// <paramref name="maxRetainedCapacity"/>.
    /// </summary>
    public void KeepLast(int count, int maxRetainedCapacity = int.MaxValue)
    {
        var kept = Math.Min(count, Length);
        var old = _buffer;
        if (_buffer.Length > maxRetainedCapacity) _buffer = new byte[Math.Max(initialCapacity, kept)];
        old.AsSpan(Length - kept, kept).CopyTo(_buffer);
        Length = kept;
    }

    private void EnsureFree(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - Length >= needed) return;
        var newSize = Math.Max(_buffer.Length * 2, Length + needed);
        Array.Resize(ref _buffer, newSize);
    }
}
