using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

// The messages primary and replica exchange over the cluster (XEP-0282 §4). Each has exactly one XML form,
// given by DmucCodec, which is also how they travel between nodes (DmucProtocolSerializer).

/// <summary>
/// What one room command produced for the local occupants of one replica host: ONE message per host per
/// command, however many occupants it reaches there. Items are delivered in order.
/// </summary>
public sealed record ReplicaBatch(Jid Room, string ReplicaHost, long Sequence, IReadOnlyList<ReplicaItem> Items);

/// <summary>
/// One stanza of a batch, exactly as the room would send it to a local occupant but without <c>to</c>.
/// </summary>
/// <param name="Recipients">The local occupants (full JIDs) who get it; null means every local occupant of the
/// replica but <paramref name="Except"/> — the common case of a broadcast, which then travels without a list,
/// as in the XEP.</param>
/// <param name="Enter">The occupant who entered with this stanza (XEP-0282 Listing 2).</param>
/// <param name="Leave">The occupant who left with this stanza (Listing 3).</param>
/// <param name="Delay">When the primary accepted a groupchat message, for the replica's history (Listing 6).</param>
public sealed record ReplicaItem(
    XElement Stanza,
    IReadOnlyList<Jid>? Recipients,
    ReplicaEnter? Enter = null,
    Jid? Leave = null,
    DateTimeOffset? Delay = null,
    IReadOnlyList<Jid>? Except = null);

/// <param name="History">The &lt;history/&gt; request of the entering user's join presence, if any.</param>
public sealed record ReplicaEnter(Jid Occupant, XElement? History);

/// <summary>A local user's stanza relayed by a replica to the primary with its original <c>from</c> (Listing 5).</summary>
public sealed record ForwardedStanza(XElement Stanza, string ReplicaHost);

/// <summary>
/// The replica did not add an occupant the primary announced, because that user never sent it directed
/// presence (XEP-0282 §4.5); the primary then treats the occupant as gone.
/// </summary>
public sealed record EnterRefused(Jid Room, Jid Occupant, string ReplicaHost);
