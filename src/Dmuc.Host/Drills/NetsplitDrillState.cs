using System.Collections.Immutable;
using Akka.Actor;

namespace Dmuc.Host.Drills;

/// <summary>
/// The peers this node is cut from: its sends to each of them are (or are about to be) dropped. Only this node's
/// sends: a node never stops hearing anyone, so a heal sent from any node reaches it.
/// </summary>
public sealed record NetsplitDrillState(ImmutableHashSet<Address> CutFrom)
{
    public static readonly NetsplitDrillState Intact = new(ImmutableHashSet<Address>.Empty);

    public NetsplitDrillState Cut(Address peer) => this with { CutFrom = CutFrom.Add(peer) };

    /// <summary>Every cut ends; the caller unthrottles what <see cref="CutFrom"/> named.</summary>
    public NetsplitDrillState Healed() => Intact;
}
