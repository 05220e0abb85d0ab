using System.Xml.Linq;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Scansion;

/// <summary>
/// Scansion's matching rules. Elements in jabber:client are lenient: expected attributes present and equal,
/// expected children present in any order, extras allowed. Elements in any other namespace (declared on
/// themselves or inherited) are strict: the same attributes both ways, the same children in the same order.
/// scansion:strict="true|false" overrides the mode of the element carrying it. "{scansion:any}" accepts any
/// attribute value. Text is compared (trimmed) where the expected element has text.
/// </summary>
public static class StanzaMatcher
{
    public static bool Matches(XElement expected, XElement actual) => FindMismatch(expected, actual) is null;

    /// <summary>Null when <paramref name="actual"/> matches; otherwise the first difference, for failure reports.</summary>
    public static string? FindMismatch(XElement expected, XElement actual) => Compare(expected, actual, "");

    private static string? Compare(XElement expected, XElement actual, string parentPath)
    {
        if (expected.Name != actual.Name)
        {
            var where = parentPath.Length == 0 ? "the stanza" : parentPath;
            return $"{where}: expected <{Display(expected.Name)}>, got <{Display(actual.Name)}>";
        }
        var path = $"{parentPath}/{expected.Name.LocalName}";
        var strict = IsStrict(expected);
        return CompareAttributes(expected, actual, strict, path)
            ?? CompareText(expected, actual, path)
            ?? (strict
                ? CompareChildrenInOrder(expected.Elements().ToList(), actual.Elements().ToList(), path)
                : CompareChildrenInAnyOrder(expected.Elements().ToList(), actual.Elements().ToList(), path));
    }

    private static bool IsStrict(XElement expected) =>
        (string?)expected.Attribute(ScansionXml.Scansion + "strict") switch
        {
            "true" => true,
            "false" => false,
            _ => expected.Name.Namespace != XmppNamespaces.Client,
        };

    private static string? CompareAttributes(XElement expected, XElement actual, bool strict, string path)
    {
        foreach (var wanted in SignificantAttributes(expected))
        {
            var found = actual.Attribute(wanted.Name);
            if (found is null)
            {
                return $"{path}: attribute {wanted.Name.LocalName}='{wanted.Value}' is missing";
            }
            if (wanted.Value != ScansionXml.AnyValue && wanted.Value != found.Value)
            {
                return $"{path}: attribute {wanted.Name.LocalName}='{found.Value}', expected '{wanted.Value}'";
            }
        }
        if (strict && SignificantAttributes(actual).FirstOrDefault(a => expected.Attribute(a.Name) is null) is { } extra)
        {
            return $"{path}: unexpected attribute {extra.Name.LocalName}='{extra.Value}' (strict element)";
        }
        return null;
    }

    private static IEnumerable<XAttribute> SignificantAttributes(XElement element) =>
        element.Attributes().Where(a => !a.IsNamespaceDeclaration && a.Name.Namespace != ScansionXml.Scansion);

    private static string? CompareText(XElement expected, XElement actual, string path)
    {
        var wanted = DirectText(expected);
        var found = DirectText(actual);
        return wanted.Length == 0 || wanted == found ? null : $"{path}: text '{found}', expected '{wanted}'";
    }

    private static string DirectText(XElement element) =>
        string.Concat(element.Nodes().OfType<XText>().Select(text => text.Value)).Trim();

    private static string? CompareChildrenInOrder(List<XElement> expected, List<XElement> actual, string path)
    {
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            if (Compare(expected[i], actual[i], path) is { } mismatch)
            {
                return mismatch;
            }
        }
        return expected.Count == actual.Count
            ? null
            : expected.Count > actual.Count
                ? $"{path}: child {Display(expected[actual.Count])} is missing (strict element)"
                : $"{path}: unexpected child {Display(actual[expected.Count])} (strict element)";
    }

    /// <summary>Each expected child needs its own matching actual child; backtracks so identical-looking ones pair up.</summary>
    private static string? CompareChildrenInAnyOrder(List<XElement> expected, List<XElement> actual, string path)
    {
        var taken = new bool[actual.Count];
        if (AssignFrom(0))
        {
            return null;
        }
        foreach (var wanted in expected)
        {
            if (!actual.Any(candidate => Compare(wanted, candidate, path) is null))
            {
                var sameName = actual.Where(candidate => candidate.Name == wanted.Name).ToList();
                return sameName.Count switch
                {
                    0 => $"{path}: child {Display(wanted)} is missing",
                    1 => Compare(wanted, sameName[0], path),
                    _ => $"{path}: no child matches {Display(wanted)}; found {string.Join(", ", sameName.Select(Display))}",
                };
            }
        }
        return $"{path}: fewer matching children than expected ({expected.Count} expected, some alike)";

        bool AssignFrom(int index)
        {
            if (index == expected.Count)
            {
                return true;
            }
            for (var j = 0; j < actual.Count; j++)
            {
                if (!taken[j] && Compare(expected[index], actual[j], path) is null)
                {
                    taken[j] = true;
                    if (AssignFrom(index + 1))
                    {
                        return true;
                    }
                    taken[j] = false;
                }
            }
            return false;
        }
    }

    private static string Display(XName name) =>
        name.Namespace == XmppNamespaces.Client || name.Namespace == XNamespace.None
            ? name.LocalName
            : $"{name.LocalName} xmlns='{name.NamespaceName}'";

    private static string Display(XElement element) =>
        "<" + Display(element.Name)
        + string.Concat(SignificantAttributes(element).Select(a => $" {a.Name.LocalName}='{a.Value}'"))
        + (element.HasElements ? ">…</" + element.Name.LocalName + ">" : "/>");
}
