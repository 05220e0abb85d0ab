using System.Xml.Linq;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// Scansion's matching rules (see /work/shared/conformance/README.md): jabber:client elements match loosely
/// (expected attributes and children present, extras and child order free); elements with their own namespace
/// match strictly (same attributes both ways, same children in the same order); scansion:strict overrides.
/// </summary>
public static class ScansionMatcher
{
    public static readonly XNamespace Scansion = "https://matthewwild.co.uk/projects/scansion";
    private static readonly XNamespace Client = "jabber:client";

    public static bool Matches(XElement expected, XElement actual) => Matches(expected, actual, inheritedStrict: false);

    private static bool Matches(XElement expected, XElement actual, bool inheritedStrict)
    {
        if (expected.Name != actual.Name) return false;
        var strict = expected.Attribute(Scansion + "strict")?.Value switch
        {
            "true" => true,
            "false" => false,
            _ => inheritedStrict || expected.Name.Namespace != Client,
        };
        var expectedAttributes = Attributes(expected).ToList();
        foreach (var attribute in expectedAttributes)
        {
            var value = actual.Attribute(attribute.Name)?.Value;
            if (value is null || (attribute.Value != "{scansion:any}" && attribute.Value != value)) return false;
        }
        if (strict && Attributes(actual).Count() != expectedAttributes.Count) return false;
        var expectedText = string.Concat(expected.Nodes().OfType<XText>().Select(text => text.Value)).Trim();
        var actualText = string.Concat(actual.Nodes().OfType<XText>().Select(text => text.Value)).Trim();
        if ((strict || expectedText.Length > 0) && expectedText != actualText) return false;
        var expectedChildren = expected.Elements().ToList();
        var actualChildren = actual.Elements().ToList();
        if (strict)
        {
            return expectedChildren.Count == actualChildren.Count
                   && expectedChildren.Zip(actualChildren).All(pair => Matches(pair.First, pair.Second, inheritedStrict: true));
        }
        return expectedChildren.All(child => actualChildren.Any(candidate => Matches(child, candidate, inheritedStrict: false)));
    }

    private static IEnumerable<XAttribute> Attributes(XElement element) =>
        element.Attributes().Where(attribute => !attribute.IsNamespaceDeclaration && attribute.Name.Namespace != Scansion);
}
