using System.Xml.Linq;
using Dmuc.Actors.Tests.Infrastructure;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// Compares stanzas with expected XML written as in the XEP: attribute order, whitespace and namespace
/// declarations do not matter, and an attribute written as <c>'*'</c> matches any value (ids, stamps).
/// </summary>
public static class XmlAssert
{
    public const string AnyValue = "*";

    /// <summary><paramref name="expectedXml"/> holds zero or more stanzas, unqualified names being jabber:client.</summary>
    public static void Matches(string expectedXml, IEnumerable<XElement> actual) =>
        Compare(Parse(expectedXml), actual.ToList());

    /// <summary>As <see cref="Matches"/>, for stanzas whose order carries no meaning (a roster): both sides are taken by from, then to.</summary>
    public static void MatchesInAnyOrder(string expectedXml, IEnumerable<XElement> actual) =>
        Compare(ByAddresses(Parse(expectedXml)), ByAddresses(actual));

    private static List<XElement> Parse(string expectedXml) => RoomStanzas.Parse($"<stanzas>{expectedXml}</stanzas>").Elements().ToList();

    private static List<XElement> ByAddresses(IEnumerable<XElement> stanzas) => stanzas
        .OrderBy(stanza => stanza.Attribute("from")?.Value, StringComparer.Ordinal)
        .ThenBy(stanza => stanza.Attribute("to")?.Value, StringComparer.Ordinal).ToList();

    private static void Compare(List<XElement> expected, List<XElement> actualList)
    {
        var mismatch = expected.Count != actualList.Count
            ? $"expected {expected.Count} stanzas, got {actualList.Count}"
            : expected.Zip(actualList).Select((pair, index) => Difference(pair.Item1, pair.Item2) is { } difference
                ? $"stanza {index + 1}: {difference}" : null).FirstOrDefault(difference => difference is not null);
        if (mismatch is not null)
            Assert.Fail($"{mismatch}\n--- expected ---\n{string.Join("\n", expected)}\n--- actual ---\n{string.Join("\n", actualList)}");
    }

    private static string? Difference(XElement expected, XElement actual)
    {
        if (expected.Name != actual.Name) return $"<{actual.Name}/> where <{expected.Name}/> was expected";
        var expectedAttributes = Attributes(expected);
        var actualAttributes = Attributes(actual);
        foreach (var (name, value) in expectedAttributes)
        {
            if (!actualAttributes.TryGetValue(name, out var actualValue)) return $"<{expected.Name.LocalName}/> lacks {name}='{value}'";
            if (value != AnyValue && value != actualValue) return $"<{expected.Name.LocalName}/> has {name}='{actualValue}', not '{value}'";
        }
        if (actualAttributes.Keys.Except(expectedAttributes.Keys).FirstOrDefault() is { } extra)
            return $"<{expected.Name.LocalName}/> has the unexpected {extra}='{actualAttributes[extra]}'";
        var expectedChildren = expected.Elements().ToList();
        var actualChildren = actual.Elements().ToList();
        if (expectedChildren.Count == 0 && actualChildren.Count == 0)
            return expected.Value.Trim() == actual.Value.Trim() ? null : $"<{expected.Name.LocalName}/> reads '{actual.Value}', not '{expected.Value}'";
        if (expectedChildren.Count != actualChildren.Count)
            return $"<{expected.Name.LocalName}/> has children {Names(actualChildren)}, not {Names(expectedChildren)}";
        return expectedChildren.Zip(actualChildren).Select(pair => Difference(pair.Item1, pair.Item2)).FirstOrDefault(d => d is not null);
    }

    private static Dictionary<XName, string> Attributes(XElement element) =>
        element.Attributes().Where(attribute => !attribute.IsNamespaceDeclaration).ToDictionary(a => a.Name, a => a.Value);

    private static string Names(IEnumerable<XElement> elements) => "[" + string.Join(", ", elements.Select(e => e.Name.LocalName)) + "]";
}
