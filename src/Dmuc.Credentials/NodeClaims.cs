using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;

namespace Dmuc.Credentials;

/// <summary>
/// What a node may speak for, as its certificate says: the XMPP hosts whose users it serves and the MUC domains
/// whose rooms it may hold as primary. Carried as subject-alternative-name URIs (<c>urn:dmuc:host:avalon.irc</c>,
/// <c>urn:dmuc:primary:channel.avalon.irc</c>) so that the operator's CA, not the node's command line, decides.
/// </summary>
public sealed record NodeClaims(string NodeName, ImmutableSortedSet<string> Hosts, ImmutableSortedSet<string> PrimaryDomains)
{
    private const string HostPrefix = "urn:dmuc:host:";
    private const string PrimaryPrefix = "urn:dmuc:primary:";

    public static NodeClaims For(string nodeName, IEnumerable<string> hosts, IEnumerable<string> primaryDomains) =>
        new(nodeName, Normalize(hosts), Normalize(primaryDomains));

    public bool ServesHost(string host) => Hosts.Contains(host.ToLowerInvariant());

    public bool MayHoldPrimariesOf(string mucDomain) => PrimaryDomains.Contains(mucDomain.ToLowerInvariant());

    public IEnumerable<Uri> ToUris() =>
        Hosts.Select(host => new Uri(HostPrefix + host)).Concat(PrimaryDomains.Select(domain => new Uri(PrimaryPrefix + domain)));

    public static NodeClaims FromCertificate(X509Certificate2 certificate)
    {
        var hosts = new List<string>();
        var primaries = new List<string>();
        foreach (var uri in SubjectAlternativeUris(certificate))
        {
            if (uri.StartsWith(HostPrefix, StringComparison.OrdinalIgnoreCase)) hosts.Add(uri[HostPrefix.Length..]);
            else if (uri.StartsWith(PrimaryPrefix, StringComparison.OrdinalIgnoreCase)) primaries.Add(uri[PrimaryPrefix.Length..]);
        }
        return For(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false), hosts, primaries);
    }

    public bool Equals(NodeClaims? other) =>
        other is not null && NodeName == other.NodeName && Hosts.SetEquals(other.Hosts) && PrimaryDomains.SetEquals(other.PrimaryDomains);

    public override int GetHashCode() => HashCode.Combine(NodeName, string.Join(',', Hosts), string.Join(',', PrimaryDomains));

    public override string ToString() =>
        $"{NodeName} (hosts: {Describe(Hosts)}; primary for: {Describe(PrimaryDomains)})";

    private static string Describe(ImmutableSortedSet<string> names) => names.IsEmpty ? "none" : string.Join(", ", names);

    private static ImmutableSortedSet<string> Normalize(IEnumerable<string> names) =>
        names.Where(name => !string.IsNullOrWhiteSpace(name)).Select(name => name.Trim().ToLowerInvariant()).ToImmutableSortedSet(StringComparer.Ordinal);

    private static IEnumerable<string> SubjectAlternativeUris(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (extension is null) return [];
        // .NET exposes DNS names and IP addresses but not URIs; read the GeneralNames sequence itself.
        var reader = new System.Formats.Asn1.AsnReader(extension.RawData, System.Formats.Asn1.AsnEncodingRules.DER);
        var names = reader.ReadSequence();
        var uris = new List<string>();
        var uriTag = new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 6);
        while (names.HasData)
        {
            if (names.PeekTag() == uriTag) uris.Add(names.ReadCharacterString(System.Formats.Asn1.UniversalTagNumber.IA5String, uriTag));
            else names.ReadEncodedValue();
        }
        return uris;
    }
}
