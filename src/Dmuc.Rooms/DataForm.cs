using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>XEP-0004 data forms: building forms and reading submitted ones.</summary>
internal sealed class DataForm
{
    private readonly Dictionary<string, IReadOnlyList<string>> _values;

    private DataForm(string? type, Dictionary<string, IReadOnlyList<string>> values)
    {
        Type = type;
        _values = values;
    }

    public string? Type { get; }
    public bool IsEmpty => _values.Count == 0;
    public string? FormType => Value("FORM_TYPE");

    public static DataForm Read(XElement x) => new(
        x.Attribute("type")?.Value,
        x.Elements(Ns.DataForms + "field")
            .Where(field => field.Attribute("var") is not null)
            .GroupBy(field => field.Attribute("var")!.Value)
            .ToDictionary(group => group.Key,
                group => (IReadOnlyList<string>)group.Last().Elements(Ns.DataForms + "value").Select(value => value.Value).ToList()));

    public bool Has(string field) => _values.ContainsKey(field);

    public IEnumerable<string> Fields => _values.Keys;

    /// <summary>The single value of a field; an empty field reads as "".</summary>
    public string? Value(string field) => _values.TryGetValue(field, out var values) ? values.FirstOrDefault() ?? "" : null;

    public IReadOnlyList<string> Values(string field) => _values.GetValueOrDefault(field) ?? [];

    /// <summary>XEP-0004 booleans: "1"/"true" and "0"/"false"; anything else is not a boolean.</summary>
    public bool? Boolean(string field) => Value(field) switch
    {
        "1" or "true" => true,
        "0" or "false" or "" => false,
        _ => null,
    };

    public static XElement Form(string type, string formType, string? title, string? instructions, params IEnumerable<XElement> fields) =>
        new(Ns.DataForms + "x", new XAttribute("type", type),
            title is null ? null : new XElement(Ns.DataForms + "title", title),
            instructions is null ? null : new XElement(Ns.DataForms + "instructions", instructions),
            Field("FORM_TYPE", "hidden", null, formType),
            fields);

    public static XElement Field(string var, string? type, string? label, params IEnumerable<string?> values) =>
        new(Ns.DataForms + "field",
            type is null ? null : new XAttribute("type", type),
            label is null ? null : new XAttribute("label", label),
            new XAttribute("var", var),
            values.Where(value => value is not null).Select(value => new XElement(Ns.DataForms + "value", value)));

    public static XElement BooleanField(string var, string label, bool value) =>
        Field(var, "boolean", label, value ? "1" : "0");

    public static XElement Option(string value, string? label = null) =>
        new(Ns.DataForms + "option", label is null ? null : new XAttribute("label", label),
            new XElement(Ns.DataForms + "value", value));
}
