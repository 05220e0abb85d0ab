using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Security;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Credentials;

namespace Dmuc.Actors.Tests.Security;

/// <summary>What a certificate lets a node speak for, and the proofs nodes exchange (pure, no actor system).</summary>
public sealed class NodeCredentialTests
{
    private const string Muc = "channel.avalon.irc";
    private static readonly Address Killrc = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 4063);
    private static readonly byte[] Challenge = [1, 2, 3, 4, 5, 6, 7, 8];

    [Fact]
    public void The_claims_a_certificate_is_issued_with_are_read_back_from_it()
    {
        var credential = TestCredentials.For("KillRC.oulubox.irc", primaryOf: Muc);

        Assert.Equal(["killrc.oulubox.irc"], credential.Claims.Hosts);
        Assert.Equal([Muc], credential.Claims.PrimaryDomains);
        Assert.True(credential.Claims.ServesHost("killrc.oulubox.irc"));
        Assert.False(credential.Claims.ServesHost("eris.dclxvii.irc"));
    }

    [Fact]
    public void Only_node_certificates_of_the_clusters_own_authority_are_accepted()
    {
        using var other = ClusterAuthority.Create("other", TimeSpan.FromDays(1));
        using var foreign = ClusterAuthority.Issue(other, NodeClaims.For("x", ["killrc.oulubox.irc"], []), TimeSpan.FromDays(1));

        Assert.Null(ClusterAuthority.Refusal(TestCredentials.Authority, TestCredentials.For("killrc.oulubox.irc").Certificate));
        Assert.Contains("not issued by this cluster's authority", ClusterAuthority.Refusal(TestCredentials.Authority, foreign));
        Assert.NotNull(ClusterAuthority.Refusal(TestCredentials.Authority, TestCredentials.Authority));
        Assert.Equal("no certificate presented", ClusterAuthority.Refusal(TestCredentials.Authority, null));
        Assert.Throws<CredentialException>(() => new NodeCredential(foreign, TestCredentials.Authority));
    }

    [Fact]
    public void A_proof_holds_only_for_the_challenge_and_the_address_it_was_signed_for()
    {
        var killrc = TestCredentials.For("killrc.oulubox.irc");
        var verifier = TestCredentials.For("avalon.irc", Muc);
        var signature = killrc.Prove(Challenge, Killrc.ToString());

        Assert.Equal(killrc.Claims, verifier.Verify(killrc.Certificate.RawData, Challenge, Killrc.ToString(), signature).Claims);
        Assert.NotNull(verifier.Verify(killrc.Certificate.RawData, Challenge, "akka.ssl.tcp://dmuc@127.0.0.1:1", signature).Refusal);
        Assert.NotNull(verifier.Verify(killrc.Certificate.RawData, [9, 9, 9], Killrc.ToString(), signature).Refusal);
        // Another node's certificate with killrc's signature: the key does not match.
        Assert.NotNull(verifier.Verify(TestCredentials.For("eris.dclxvii.irc").Certificate.RawData, Challenge, Killrc.ToString(), signature).Refusal);
    }

    [Theory]
    [InlineData("host-killrc.oulubox.irc,replica", true)]
    [InlineData("host-eris.dclxvii.irc,replica", false)]
    [InlineData("host-killrc.oulubox.irc,primary", false)]
    public void A_member_is_trusted_only_for_roles_its_certificate_names(string roles, bool trusted)
    {
        var claims = TestCredentials.For("killrc.oulubox.irc").Claims;

        var verdict = MemberTrust.Judge(roles.Split(','), Killrc, claims, Muc);

        Assert.Equal(trusted, verdict is MemberTrust.Trusted);
    }

    [Fact]
    public void A_primary_certificate_vouches_for_the_primaries_of_its_muc_domain_only()
    {
        var claims = TestCredentials.For("avalon.irc", Muc).Claims;

        Assert.Equal(new TrustedNode(Killrc, "avalon.irc", IsPrimary: true),
            Assert.IsType<MemberTrust.Trusted>(MemberTrust.Judge(["host-avalon.irc", ClusterHosts.PrimaryRole], Killrc, claims, Muc)).Node);
        Assert.IsType<MemberTrust.Impostor>(MemberTrust.Judge([ClusterHosts.PrimaryRole], Killrc, claims, "rooms.elsewhere.example"));
    }

    [Fact]
    public void A_proof_counts_once_and_only_for_the_challenge_that_was_sent()
    {
        var killrc = TestCredentials.For("killrc.oulubox.irc");
        var trust = new MemberTrust(TestCredentials.For("avalon.irc", Muc), Muc);
        var challenge = trust.Challenge(Killrc);
        Assert.Same(challenge, trust.Challenge(Killrc));

        Assert.NotNull(trust.AcceptProof(Killrc, new NodeProof(killrc.Certificate.RawData, killrc.Prove(Challenge, Killrc.ToString()))));
        Assert.False(trust.IsProven(Killrc));

        var fresh = trust.Challenge(Killrc);
        Assert.Null(trust.AcceptProof(Killrc, new NodeProof(killrc.Certificate.RawData, killrc.Prove(fresh, Killrc.ToString()))));
        Assert.True(trust.IsProven(Killrc));
    }

    /// <summary>
    /// A restarted node announces its new incarnation to the seeds (docs/protocol/netjoin.md §5), which down the member still
    /// listed at its address: only a different, older incarnation there, only on a recent announcement signed at that address
    /// by a certificate that names what the listed member served.
    /// </summary>
    [Fact]
    public void A_new_incarnation_replaces_the_member_at_its_address_only_when_its_certificate_says_it_may()
    {
        var avalon = TestCredentials.For("avalon.irc", Muc);
        var trust = new MemberTrust(TestCredentials.For("killrc.oulubox.irc"), Muc);
        var address = new Address("akka.ssl.tcp", "dmuc", "127.0.0.1", 4053);
        var listed = new UniqueAddress(address, 1);
        string[] roles = [ClusterHosts.PrimaryRole, ClusterHosts.HostRole("avalon.irc")];
        var now = new DateTimeOffset(2026, 12, 5, 3, 0, 0, TimeSpan.Zero);
        var restarted = IncarnationStarted.Signed(avalon, address, 2, now);

        Assert.Null(trust.PreviousIncarnationRefusal(listed, roles, restarted, now.AddSeconds(3)));
        Assert.Contains("itself", trust.PreviousIncarnationRefusal(new UniqueAddress(address, 2), roles, restarted, now));
        Assert.Contains("not at", trust.PreviousIncarnationRefusal(new UniqueAddress(Killrc, 1), roles, restarted, now));
        Assert.Contains("too long ago", trust.PreviousIncarnationRefusal(listed, roles, restarted, now + MemberTrust.IncarnationAnnouncementLifetime + TimeSpan.FromSeconds(1)));
        // Signed for another incarnation, or at another address.
        Assert.NotNull(trust.PreviousIncarnationRefusal(listed, roles, restarted with { Uid = 3 }, now));
        Assert.NotNull(trust.PreviousIncarnationRefusal(listed, roles, IncarnationStarted.Signed(avalon, Killrc, 2, now) with { Address = address.ToString() }, now));
        // A node whose certificate names only eris cannot take the primary's place.
        Assert.Contains("may not replace", trust.PreviousIncarnationRefusal(listed, roles,
            IncarnationStarted.Signed(TestCredentials.For("eris.dclxvii.irc"), address, 2, now), now));
    }
}
