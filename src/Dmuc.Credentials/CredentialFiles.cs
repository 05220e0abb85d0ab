using System.Security.Cryptography.X509Certificates;

namespace Dmuc.Credentials;

/// <summary>
/// Credentials on disk as PEM, the form openssl and every operator tool read: <c>ca.pem</c> and
/// <c>ca-key.pem</c> for the authority, <c>NAME.pem</c> and <c>NAME-key.pem</c> for a node.
/// </summary>
public static class CredentialFiles
{
    public const string AuthorityName = "ca";

    public static string CertificatePath(string folder, string name) => Path.Combine(folder, name + ".pem");
    public static string KeyPath(string folder, string name) => Path.Combine(folder, name + "-key.pem");

    public static void Write(X509Certificate2 certificate, string folder, string name)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(CertificatePath(folder, name), certificate.ExportCertificatePem());
        var key = certificate.GetECDsaPrivateKey() ?? throw new CredentialException($"{name} has no ECDSA private key to write");
        var keyPath = KeyPath(folder, name);
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static X509Certificate2 ReadAuthority(string folder) =>
        X509Certificate2.CreateFromPemFile(CertificatePath(folder, AuthorityName), KeyPath(folder, AuthorityName));

    /// <summary>Creates the authority in <paramref name="folder"/> unless one is there; returns it with its key.</summary>
    public static X509Certificate2 EnsureAuthority(string folder, string name, TimeSpan validity)
    {
        if (File.Exists(CertificatePath(folder, AuthorityName))) return ReadAuthority(folder);
        var authority = ClusterAuthority.Create(name, validity);
        Write(authority, folder, AuthorityName);
        return authority;
    }

    /// <summary>Issues a node credential into <paramref name="folder"/> and returns it loaded as a node would load it.</summary>
    public static NodeCredential IssueNode(string folder, X509Certificate2 authority, NodeClaims claims, TimeSpan validity)
    {
        using var issued = ClusterAuthority.Issue(authority, claims, validity);
        Write(issued, folder, claims.NodeName);
        return LoadNode(folder, claims.NodeName);
    }

    public static NodeCredential LoadNode(string folder, string name) =>
        NodeCredential.Load(CertificatePath(folder, name), KeyPath(folder, name), CertificatePath(folder, AuthorityName));
}
