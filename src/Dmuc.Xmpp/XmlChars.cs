using System.Buffers;

namespace Dmuc.Xmpp;

/// <summary>Character classes shared by the parser and the writer.</summary>
internal static class XmlChars
{
    // XML 1.0 §2.2: the BMP characters outside Char. Lone surrogates are caught by UTF-8 transcoding instead.
    private const string Forbidden =
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F" +
        "\uFFFE\uFFFF";

    public static readonly SearchValues<char> ForbiddenChars = SearchValues.Create(Forbidden);

    /// <summary>What text content cannot carry literally; \r is escaped so line-end normalization keeps it.</summary>
    public static readonly SearchValues<char> TextSpecials = SearchValues.Create("&<>\r" + Forbidden);

    /// <summary>What a double-quoted attribute value cannot carry literally; whitespace is escaped to survive attribute normalization.</summary>
    public static readonly SearchValues<char> AttributeSpecials = SearchValues.Create("&<>\"\t\n\r" + Forbidden);

    public static readonly SearchValues<byte> XmlWhitespace = SearchValues.Create(" \t\r\n"u8);

    public static bool IsValidCodePoint(int codePoint) => codePoint switch
    {
        0x9 or 0xA or 0xD => true,
        >= 0x20 and <= 0xD7FF => true,
        >= 0xE000 and <= 0xFFFD => true,
        >= 0x10000 and <= 0x10FFFF => true,
        _ => false,
    };

    /// <summary>The escape for one special character; characters XML cannot carry become U+FFFD.</summary>
    public static ReadOnlySpan<byte> EscapeFor(char c) => c switch
    {
        '&' => "&amp;"u8,
        '<' => "&lt;"u8,
        '>' => "&gt;"u8,
        '"' => "&quot;"u8,
        '\t' => "&#9;"u8,
        '\n' => "&#10;"u8,
        '\r' => "&#13;"u8,
        _ => "\uFFFD"u8,
    };
}
