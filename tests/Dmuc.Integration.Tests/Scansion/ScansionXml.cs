using System.Security;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Scansion;

/// <summary>Turns the XML of a script step into an element: fills in ${…} variables, supplies namespaces.</summary>
public static partial class ScansionXml
{
    /// <summary>Scripts use the scansion: prefix (scansion:strict, {scansion:any}) without declaring it.</summary>
    public static readonly XNamespace Scansion = "https://matthewwild.co.uk/projects/scansion";

    /// <summary>An expected attribute value that accepts any actual value.</summary>
    public const string AnyValue = "{scansion:any}";

    [GeneratedRegex(@"\$\{(?<name>[^}]+)\}")]
    private static partial Regex Variable();

    /// <summary>Used to check a script's XML when it is parsed, before any client has a JID.</summary>
    public static string PlaceholderForValidation(string variableName) => "placeholder@localhost/validation";

    /// <summary>
    /// Parses one stanza written without namespace: like scansion, top-level stanzas are jabber:client.
    /// <paramref name="resolveVariable"/> maps a variable name such as "Romeo's full JID" to its value.
    /// </summary>
    public static XElement ParseStanza(string xml, Func<string, string> resolveVariable)
    {
        var substituted = FillInVariables(xml, resolveVariable);
        var wrapper = XElement.Parse(
            $"<scansion-step xmlns='{XmppNamespaces.Client.NamespaceName}' xmlns:scansion='{Scansion.NamespaceName}'>{substituted}</scansion-step>",
            LoadOptions.PreserveWhitespace);
        var stanzas = wrapper.Elements().ToList();
        if (stanzas.Count != 1 || wrapper.Nodes().OfType<XText>().Any(text => !string.IsNullOrWhiteSpace(text.Value)))
        {
            throw new FormatException($"a step must hold exactly one stanza, found {stanzas.Count} element(s)");
        }
        var stanza = stanzas[0];
        stanza.Remove();
        return stanza;
    }

    /// <summary>The step's XML as written, with ${…} replaced (XML-escaped): how failure reports show it.</summary>
    public static string FillInVariables(string xml, Func<string, string> resolveVariable) =>
        Variable().Replace(xml, match => SecurityElement.Escape(resolveVariable(match.Groups["name"].Value)));

    /// <summary>
    /// What a client puts on the wire for a script's stanza: no scansion: attributes (instructions to the
    /// runner) and no indentation (whitespace-only text between tags), as a real client would send it.
    /// </summary>
    public static XElement ForSending(XElement stanza)
    {
        var copy = WithoutIndentation(stanza);
        copy.DescendantsAndSelf().Attributes()
            .Where(attribute => attribute.Name.Namespace == Scansion
                || (attribute.IsNamespaceDeclaration && attribute.Value == Scansion.NamespaceName))
            .Remove();
        return copy;
    }

    /// <summary>A copy without whitespace-only text nodes, so it prints on one line or with even indentation.</summary>
    public static XElement WithoutIndentation(XElement stanza)
    {
        var copy = new XElement(stanza);
        copy.DescendantNodes().OfType<XText>().Where(text => string.IsNullOrWhiteSpace(text.Value)).Remove();
        return copy;
    }
}
