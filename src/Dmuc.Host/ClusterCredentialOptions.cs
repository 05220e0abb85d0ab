using Dmuc.Credentials;

namespace Dmuc.Host;

/// <summary>
/// The node's credential for the cluster (docs/operations.md#security): PEM files of its certificate, its key and
/// the cluster authority. Without them, a node on its own makes a private authority in its data folder, which no
/// other node holds, so nothing can join it; a node that has seeds must be given its files.
/// </summary>
public sealed class ClusterCredentialOptions
{
    public const string Section = "Tls";

    public string? Certificate { get; set; }
    public string? Key { get; set; }
    public string? Authority { get; set; }

    private bool IsGiven => !string.IsNullOrWhiteSpace(Certificate) || !string.IsNullOrWhiteSpace(Key) || !string.IsNullOrWhiteSpace(Authority);

    /// <summary>Loads the credential and checks that it lets this node be what its options say.</summary>
    public NodeCredential Load(NodeOptions options)
    {
        var credential = IsGiven ? LoadGiven() : PrivateCredential(options);
        var claims = credential.Claims;
        if (!string.IsNullOrWhiteSpace(options.HostDomain) && !claims.ServesHost(options.HostDomain))
            throw new CredentialException($"Dmuc:HostDomain is {options.HostDomain}, but the node certificate names {claims}");
        if (options.Role == NodeRole.Primary && !claims.MayHoldPrimariesOf(options.Domain))
            throw new CredentialException($"Dmuc:Role is Primary for {options.Domain}, but the node certificate names {claims}");
        return credential;
    }

    private NodeCredential LoadGiven()
    {
        if (string.IsNullOrWhiteSpace(Certificate) || string.IsNullOrWhiteSpace(Key) || string.IsNullOrWhiteSpace(Authority))
            throw new CredentialException("Dmuc:Tls needs all three of Certificate (--tls-cert), Key (--tls-key) and Authority (--tls-ca)");
        return NodeCredential.Load(Certificate, Key, Authority);
    }

    private static NodeCredential PrivateCredential(NodeOptions options)
    {
        if (options.Seeds.Count > 0)
            throw new CredentialException("a node that joins a cluster (Dmuc:Seeds) needs its credential: Dmuc:Tls:Certificate (--tls-cert), " +
                                          "Dmuc:Tls:Key (--tls-key) and Dmuc:Tls:Authority (--tls-ca); `dmuc certs` makes them");
        var folder = Path.Combine(options.Data, "tls");
        var name = "node-" + (string.IsNullOrWhiteSpace(options.HostDomain) ? options.Domain : options.HostDomain).ToLowerInvariant();
        var claims = NodeClaims.For(name, [options.HostDomain ?? ""], options.Role == NodeRole.Primary ? [options.Domain] : []);
        if (File.Exists(CredentialFiles.CertificatePath(folder, name)))
        {
            var existing = CredentialFiles.LoadNode(folder, name);
            if (existing.Claims == claims && existing.Certificate.NotAfter > DateTime.Now.AddDays(1)) return existing;
        }
        var authority = CredentialFiles.EnsureAuthority(folder, "private authority of " + name, TimeSpan.FromDays(3650));
        return CredentialFiles.IssueNode(folder, authority, claims, TimeSpan.FromDays(3650));
    }
}
