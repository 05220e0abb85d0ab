using System.Security.Cryptography;
using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Replication;
using Dmuc.Credentials;

namespace Dmuc.Actors.Security;

/// <summary>A cluster member as far as its certificate vouches for it.</summary>
public sealed record TrustedNode(Address Address, string? Host, bool IsPrimary);

/// <summary>
/// Decides which cluster members speak for which XMPP host and which holds the primaries. A member's roles are
/// what it says about itself; only what its certificate also names counts, and a member that says more than its
/// certificate names is an impostor. Pure: the watcher actor only carries challenges and proofs.
/// </summary>
public sealed class MemberTrust(NodeCredential own, string mucDomain)
{
    private readonly Dictionary<Address, byte[]> _challenges = new();
    private readonly Dictionary<Address, NodeClaims> _verified = new();

    public abstract record Verdict;
    public sealed record Trusted(TrustedNode Node) : Verdict;
    public sealed record Impostor(string Reason) : Verdict;
    /// <summary>No proof yet (or a proof for a challenge we no longer hold).</summary>
    public sealed record Unproven : Verdict;

    /// <summary>
    /// The challenge for <paramref name="member"/>: the one still unanswered, so that a retry and a late answer
    /// to the first send agree, or a fresh one.
    /// </summary>
    public byte[] Challenge(Address member)
    {
        if (_challenges.TryGetValue(member, out var pending)) return pending;
        var challenge = RandomNumberGenerator.GetBytes(32);
        _challenges[member] = challenge;
        return challenge;
    }

    public bool IsProven(Address member) => _verified.ContainsKey(member);

    /// <summary>Checks <paramref name="proof"/> from <paramref name="member"/> against the challenge it was sent.</summary>
    public string? AcceptProof(Address member, NodeProof proof)
    {
        if (!_challenges.Remove(member, out var challenge)) return null;
        var (claims, refusal) = own.Verify(proof.Certificate, challenge, member.ToString(), proof.Signature);
        if (claims is null) return refusal;
        _verified[member] = claims;
        return null;
    }

    /// <summary>How long an <see cref="IncarnationStarted"/> is believed: an old one replayed must not down a later incarnation.</summary>
    public static readonly TimeSpan IncarnationAnnouncementLifetime = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Null when the member <paramref name="listed"/> with <paramref name="roles"/> is the previous incarnation of the node that
    /// announced <paramref name="started"/> — listed at the announced address under another UID, the announcement recent and
    /// signed at that address by a certificate that names everything the member said it served — and otherwise why it is not.
    /// </summary>
    public string? PreviousIncarnationRefusal(UniqueAddress listed, IEnumerable<string> roles, IncarnationStarted started, DateTimeOffset now)
    {
        if (listed.Address.ToString() != started.Address) return $"listed at {listed.Address}, not at {started.Address}";
        if (listed.Uid == started.Uid) return "the announced incarnation itself";
        if ((now - started.StartedAt).Duration() > IncarnationAnnouncementLifetime) return $"announced at {started.StartedAt:O}, too long ago";
        var (claims, refusal) = own.Verify(started.Certificate, IncarnationStarted.Statement(started.Uid, started.StartedAt), started.Address,
            started.Signature);
        if (claims is null) return $"announced with {refusal}";
        return Judge(roles, listed.Address, claims, mucDomain) is Impostor impostor ? $"announced by a node that may not replace it: {impostor.Reason}" : null;
    }

    public void Forget(Address member)
    {
        _challenges.Remove(member);
        _verified.Remove(member);
    }

    /// <summary>What <paramref name="member"/> may speak for: <paramref name="self"/> vouches for itself with its own credential.</summary>
    public Verdict Judge(Member member, Address self)
    {
        var claims = member.Address == self ? own.Claims : _verified.GetValueOrDefault(member.Address);
        if (claims is null) return new Unproven();
        return Judge(member.Roles, member.Address, claims, mucDomain);
    }

    public static Verdict Judge(IEnumerable<string> roles, Address address, NodeClaims claims, string mucDomain)
    {
        string? host = null;
        var isPrimary = false;
        foreach (var role in roles)
        {
            if (ClusterHosts.HostOfRole(role) is { } claimed)
            {
                if (!claims.ServesHost(claimed)) return new Impostor($"it says it serves {claimed}, but its certificate names {claims}");
                host = claimed;
            }
            else if (role == ClusterHosts.PrimaryRole)
            {
                if (!claims.MayHoldPrimariesOf(mucDomain)) return new Impostor($"it says it holds the primaries of {mucDomain}, but its certificate names {claims}");
                isPrimary = true;
            }
        }
        return new Trusted(new TrustedNode(address, host, isPrimary));
    }
}
