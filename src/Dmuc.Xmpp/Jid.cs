using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dmuc.Xmpp;

/// <summary>
/// An XMPP address per RFC 7622: <c>[local@]domain[/resource]</c>. Instances are always normalized
/// (localpart and domain case-folded), so equality is ordinal.
/// </summary>
[JsonConverter(typeof(JidJsonConverter))]
public sealed class Jid : IEquatable<Jid>
{
    private const int MaxPartBytes = 1023;
    // RFC 7622 §3.3.1: characters a localpart may never contain.
    private static readonly char[] ForbiddenLocalChars = ['"', '&', '\'', '/', ':', '<', '>', '@'];

    private readonly string _text;
    // Made once on first use: a room asks for an occupant's bare and domain address per roster entry and per session.
    private Jid? _bare, _domainJid;

    private Jid(string? local, string domain, string? resource)
    {
        Local = local;
        Domain = domain;
        Resource = resource;
        _text = (local, resource) switch
        {
            (null, null) => domain,
            (null, _) => string.Concat(domain, "/", resource),
            (_, null) => string.Concat(local, "@", domain),
            _ => string.Concat(local, "@", domain, "/", resource),
        };
    }

    public string? Local { get; }
    public string Domain { get; }
    public string? Resource { get; }

    public bool IsBare => Resource is null;
    public bool IsFull => Resource is not null;
    public bool IsDomain => Local is null && Resource is null;

    public Jid Bare => Resource is null ? this : _bare ??= new Jid(Local, Domain, null);

    /// <summary>The address of the domain alone (the domain part is already valid).</summary>
    public Jid DomainJid => IsDomain ? this : _domainJid ??= new Jid(null, Domain, null);

    public Jid WithResource(string resource) =>
        TryCreate(Local, Domain, resource, out var jid, out var error) ? jid : throw new JidMalformedException(error);

    public static Jid Parse(string text) =>
        TryParse(text, out var jid, out var error) ? jid : throw new JidMalformedException(error);

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Jid? jid) =>
        TryParse(text, out jid, out _);

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Jid? jid, out string error)
    {
        jid = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "empty address";
            return false;
        }
        // RFC 7622 §3.1: the resource starts at the first '/', the localpart ends at the first '@' before it.
        var slash = text.IndexOf('/');
        var beforeResource = slash < 0 ? text.AsSpan() : text.AsSpan(0, slash);
        var at = beforeResource.IndexOf('@');
        string? local = at < 0 ? null : text[..at];
        var domain = at < 0 ? beforeResource.ToString() : beforeResource[(at + 1)..].ToString();
        string? resource = slash < 0 ? null : text[(slash + 1)..];
        return TryCreate(local, domain, resource, out jid, out error);
    }

    public static bool TryCreate(string? local, string domain, string? resource,
        [NotNullWhen(true)] out Jid? jid, out string error)
    {
        jid = null;
        if (local is not null)
        {
            if (!ValidPart(local, out error, "localpart")) return false;
            if (local.IndexOfAny(ForbiddenLocalChars) >= 0 || HasWhiteSpaceOrControl(local))
            {
                error = "localpart contains a forbidden character";
                return false;
            }
            local = local.ToLowerInvariant();
        }
        if (!ValidPart(domain, out error, "domainpart")) return false;
        if (domain.EndsWith('.')) domain = domain[..^1];
        if (domain.Length == 0 || HasWhiteSpaceOrControl(domain) || domain.AsSpan().IndexOfAny('@', '/') >= 0)
        {
            error = "domainpart is not a valid host name";
            return false;
        }
        domain = domain.ToLowerInvariant();
        if (resource is not null)
        {
            if (!ValidPart(resource, out error, "resourcepart")) return false;
            if (HasControl(resource))
            {
                error = "resourcepart contains a control character";
                return false;
            }
            resource = resource.Normalize(NormalizationForm.FormC);
        }
        jid = new Jid(local, domain, resource);
        error = "";
        return true;
    }

    // Loops, not LINQ's Any over the characters (an enumerator and a delegate call per character): several addresses are
    // parsed per stanza, and that checking was most of a parse.
    private static bool HasWhiteSpaceOrControl(string part)
    {
        foreach (var c in part)
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return true;
        return false;
    }

    private static bool HasControl(string part)
    {
        foreach (var c in part)
            if (char.IsControl(c)) return true;
        return false;
    }

    private static bool ValidPart(string part, out string error, string name)
    {
        if (part.Length == 0)
        {
            error = $"{name} is empty";
            return false;
        }
        if (Encoding.UTF8.GetByteCount(part) > MaxPartBytes)
        {
            error = $"{name} is longer than {MaxPartBytes} bytes";
            return false;
        }
        error = "";
        return true;
    }

    public bool Equals(Jid? other) => other is not null && string.Equals(_text, other._text, StringComparison.Ordinal);
    public override bool Equals(object? obj) => obj is Jid other && Equals(other);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);
    public override string ToString() => _text;

    public static bool operator ==(Jid? left, Jid? right) => left is null ? right is null : left.Equals(right);
    public static bool operator !=(Jid? left, Jid? right) => !(left == right);
}

public sealed class JidMalformedException(string reason) : FormatException($"jid-malformed: {reason}");

/// <summary>JIDs travel in journals and snapshots as their string form.</summary>
public sealed class JidJsonConverter : JsonConverter<Jid>
{
    public override Jid Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Jid.Parse(reader.GetString() ?? throw new JsonException("a JID cannot be null"));

    public override void Write(Utf8JsonWriter writer, Jid value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
