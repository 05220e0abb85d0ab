using System.Buffers.Binary;
using System.IO.Compression;

namespace Dmuc.Cli.Tests;

/// <summary>
/// The pixels of a PNG as chromium writes its screenshots (8-bit RGB or RGBA, not interlaced), enough to ask what
/// colours a page shows.
/// </summary>
public sealed class PngImage
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];
    private readonly byte[] _pixels;
    private readonly int _channels;

    private PngImage(int width, int height, int channels, byte[] pixels)
    {
        Width = width;
        Height = height;
        _channels = channels;
        _pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }

    public static PngImage Load(string file)
    {
        var bytes = File.ReadAllBytes(file);
        if (!bytes.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException($"{file} is not a PNG");
        int width = 0, height = 0, channels = 0;
        using var compressed = new MemoryStream();
        for (var at = 8; at < bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
            var data = bytes.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                (width, height) = (BinaryPrimitives.ReadInt32BigEndian(data), BinaryPrimitives.ReadInt32BigEndian(data[4..]));
                channels = data[9] switch { 2 => 3, 6 => 4, var other => throw new NotSupportedException($"PNG colour type {other}") };
                if (data[8] != 8 || data[12] != 0) throw new NotSupportedException("only 8-bit, non-interlaced PNGs");
            }
            else if (type == "IDAT")
            {
                compressed.Write(data);
            }
            at += 12 + length;
        }
        compressed.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        return new PngImage(width, height, channels, Unfilter(inflated.ToArray(), width, height, channels));
    }

    /// <summary>Pixels within <paramref name="tolerance"/> of the colour on each channel.</summary>
    public int CountNear(byte red, byte green, byte blue, int tolerance)
    {
        var count = 0;
        for (var i = 0; i < _pixels.Length; i += _channels)
        {
            if (Math.Abs(_pixels[i] - red) <= tolerance && Math.Abs(_pixels[i + 1] - green) <= tolerance && Math.Abs(_pixels[i + 2] - blue) <= tolerance)
                count++;
        }
        return count;
    }

    /// <summary>PNG's per-row filters (RFC 2083 §6) undone.</summary>
    private static byte[] Unfilter(byte[] data, int width, int height, int channels)
    {
        var stride = width * channels;
        var pixels = new byte[stride * height];
        for (var row = 0; row < height; row++)
        {
            var filter = data[row * (stride + 1)];
            var source = data.AsSpan(row * (stride + 1) + 1, stride);
            var line = pixels.AsSpan(row * stride, stride);
            Span<byte> above = row == 0 ? new byte[stride] : pixels.AsSpan((row - 1) * stride, stride);
            for (var i = 0; i < stride; i++)
            {
                int left = i >= channels ? line[i - channels] : 0, up = above[i], upLeft = i >= channels && row > 0 ? above[i - channels] : 0;
                line[i] = (byte)(source[i] + filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => (left + up) / 2,
                    4 => Paeth(left, up, upLeft),
                    _ => throw new InvalidDataException($"PNG filter {filter}"),
                });
            }
        }
        return pixels;
    }

    private static int Paeth(int left, int up, int upLeft)
    {
        int estimate = left + up - upLeft, toLeft = Math.Abs(estimate - left), toUp = Math.Abs(estimate - up), toUpLeft = Math.Abs(estimate - upLeft);
        return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
    }
}
