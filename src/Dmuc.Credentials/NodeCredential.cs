using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Dmuc.Credentials;

/// <summary>
/// A node's certificate with its private key, and the authority it trusts. It admits the node to the cluster
/// (mutual TLS between nodes) and proves what the node may speak for (<see cref="NodeClaims"/>).
/// </summary>
public sealed class NodeCredential
{
    public NodeCredential(X509Certificate2 certificate, X509Certificate2 authority)
    {
        if (!certificate.HasPrivateKey) throw new CredentialException("the node certificate comes without its private key");
        if (ClusterAuthority.Refusal(authority, certificate) is { } refusal) throw new CredentialException($"the node certificate is {refusal}");
        Certificate = certificate;
        Authority = authority;
        Claims = NodeClaims.FromCertificate(certificate);
    }

    public X509Certificate2 Certificate { get; }
    public X509Certificate2 Authority { get; }
    public NodeClaims Claims { get; }

    /// <summary>Loads PEM files: the node certificate, its private key, and the authority's certificate.</summary>
    public static NodeCredential Load(string certificatePath, string keyPath, string authorityPath)
    {
        foreach (var path in new[] { certificatePath, keyPath, authorityPath })
            if (!File.Exists(path)) throw new CredentialException($"{path} does not exist");
        try
        {
            return new NodeCredential(X509Certificate2.CreateFromPemFile(certificatePath, keyPath), X509Certificate2.CreateFromPem(File.ReadAllText(authorityPath)));
        }
        catch (CryptographicException e)
        {
            throw new CredentialException($"cannot read the node certificate {certificatePath} with key {keyPath}: {e.Message}");
        }
    }

    /// <summary>
    /// Proves to a peer that the holder of this certificate listens at <paramref name="ownAddress"/>: the peer sent
    /// <paramref name="challenge"/> to that address, and only this key can sign it together with the address.
    /// </summary>
    public byte[] Prove(ReadOnlySpan<byte> challenge, string ownAddress)
    {
        using var key = Certificate.GetECDsaPrivateKey() ?? throw new CredentialException("the node key is not an ECDSA key");
        return key.SignData(ProofContent(challenge, ownAddress), HashAlgorithmName.SHA256);
    }

    /// <summary>
    /// The claims of the node at <paramref name="address"/> when <paramref name="certificate"/> is one of our
    /// authority's and its key signed <paramref name="challenge"/> with that address; otherwise why not.
    /// </summary>
    public (NodeClaims? Claims, string? Refusal) Verify(byte[] certificate, ReadOnlySpan<byte> challenge, string address, byte[] signature)
    {
        X509Certificate2 peer;
        try
        {
            peer = X509CertificateLoader.LoadCertificate(certificate);
        }
        catch (CryptographicException e)
        {
            return (null, $"an unreadable certificate ({e.Message})");
        }
        using (peer)
        {
            if (ClusterAuthority.Refusal(Authority, peer) is { } refusal) return (null, $"a certificate {refusal}");
            using var key = peer.GetECDsaPublicKey();
            if (key is null || !key.VerifyData(ProofContent(challenge, address), signature, HashAlgorithmName.SHA256))
                return (null, $"a proof not signed by the key of {peer.Subject} for {address}");
            return (NodeClaims.FromCertificate(peer), null);
        }
    }

    private static byte[] ProofContent(ReadOnlySpan<byte> challenge, string address) =>
        [.. "dmuc-node-proof\n"u8, .. challenge, .. Encoding.UTF8.GetBytes("\n" + address)];
}

/// <summary>A credential that cannot be used, with a message for the operator.</summary>
public sealed class CredentialException(string message) : Exception(message);
