using System.Security.Cryptography.X509Certificates;
using Dmuc.Credentials;

namespace Dmuc.Integration.Tests.Infrastructure;

/// <summary>One throwaway cluster authority for the test process: every node a test starts trusts it.</summary>
public static class TestClusterAuthority
{
    private static readonly TimeSpan Validity = TimeSpan.FromDays(1);
    private static readonly X509Certificate2 Authority = ClusterAuthority.Create("dmuc integration-test authority", Validity);

    /// <summary>
    /// Writes a node credential for <paramref name="claims"/> and the authority into <paramref name="folder"/>; returns
    /// the node settings that point at them.
    /// </summary>
    public static Dictionary<string, string?> IssueInto(string folder, NodeClaims claims)
    {
        using var issued = ClusterAuthority.Issue(Authority, claims, Validity);
        CredentialFiles.Write(issued, folder, claims.NodeName);
        File.WriteAllText(CredentialFiles.CertificatePath(folder, CredentialFiles.AuthorityName), Authority.ExportCertificatePem());
        return new()
        {
            ["Dmuc:Tls:Certificate"] = CredentialFiles.CertificatePath(folder, claims.NodeName),
            ["Dmuc:Tls:Key"] = CredentialFiles.KeyPath(folder, claims.NodeName),
            ["Dmuc:Tls:Authority"] = CredentialFiles.CertificatePath(folder, CredentialFiles.AuthorityName),
        };
    }
}
