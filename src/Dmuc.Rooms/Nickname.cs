using System.Globalization;
using System.Text;

namespace Dmuc.Rooms;

/// <summary>
/// Nicknames are resourceparts (RFC 7622) checked the way Prosody's "strict" resourceprep checks them: after
/// mapping (characters mapped to nothing are dropped, NFKC), a nickname must not contain prohibited or
/// unassigned code points. Unassigned means unknown to stringprep's Unicode 3.2, which rules out emoji.
/// </summary>
internal static class Nickname
{
    public enum Problem { None, Malformed, Invisible, TooLong }

    // RFC 3454 table B.1: commonly mapped to nothing.
    private static bool MapsToNothing(int c) =>
        c is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or (>= 0x200B and <= 0x200D) or 0x2060
            or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    /// <summary>Applies the resourceprep mapping; use the result as the occupant's nick.</summary>
    public static string Map(string raw)
    {
        var mapped = new StringBuilder(raw.Length);
        foreach (var rune in raw.EnumerateRunes())
        {
            if (!MapsToNothing(rune.Value)) mapped.Append(rune.ToString());
        }
        return mapped.ToString().Normalize(NormalizationForm.FormKC);
    }

    public static Problem Check(string nick, int maxLength)
    {
        if (nick.Length == 0) return Problem.Malformed;
        if (nick.Length > maxLength) return Problem.TooLong;
        foreach (var rune in nick.EnumerateRunes())
        {
            if (IsProhibited(rune) || !AssignedInUnicode32(rune)) return Problem.Malformed;
        }
        return nick.All(char.IsWhiteSpace) ? Problem.Invisible : Problem.None;
    }

    // RFC 3454 C.1.2, C.2, C.3, C.4, C.5, C.8, C.9 in the terms .NET knows them.
    private static bool IsProhibited(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        return category is UnicodeCategory.Control or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate
                   or UnicodeCategory.Format
               || (category == UnicodeCategory.SpaceSeparator && rune.Value != ' ')
               || (rune.Value & 0xFFFE) == 0xFFFE || rune.Value is >= 0xFDD0 and <= 0xFDEF;
    }

    // Outside the BMP, Unicode 3.2 had only these blocks; inside it we trust .NET's own table.
    private static bool AssignedInUnicode32(Rune rune) => rune.Value switch
    {
        <= 0xFFFF => Rune.GetUnicodeCategory(rune) != UnicodeCategory.OtherNotAssigned,
        >= 0x10300 and <= 0x1034A => true, // Old Italic, Gothic
        >= 0x10400 and <= 0x1044D => true, // Deseret
        >= 0x1D000 and <= 0x1D7FF => true, // musical and mathematical symbols
        >= 0x20000 and <= 0x2A6D6 => true, // CJK extension B
        >= 0x2F800 and <= 0x2FA1D => true, // CJK compatibility supplement
        _ => false,
    };
}
