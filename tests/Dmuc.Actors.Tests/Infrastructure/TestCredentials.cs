using Dmuc.Credentials;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>A throwaway cluster authority for the test process, and node credentials it issues.</summary>
public static class TestCredentials
{
    private static readonly TimeSpan Validity = TimeSpan.FromDays(1);

    public static System.Security.Cryptography.X509Certificates.X509Certificate2 Authority { get; } = ClusterAuthority.Create("dmuc test authority", Validity);

    /// <summary>A credential for a node that serves <paramref name="host"/> and, when given, holds the primaries of <paramref name="primaryOf"/>.</summary>
    public static NodeCredential For(string host, string? primaryOf = null, System.Security.Cryptography.X509Certificates.X509Certificate2? authority = null)
    {
        var issuer = authority ?? Authority;
        return new NodeCredential(ClusterAuthority.Issue(issuer, NodeClaims.For("node-" + host, [host], primaryOf is null ? [] : [primaryOf]), Validity), issuer);
    }
}
