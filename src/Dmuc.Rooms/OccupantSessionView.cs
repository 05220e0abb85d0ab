using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>One occupant session as seen from outside the room's rules.</summary>
public sealed record OccupantSessionView(string Nick, Jid RealJid, Role Role, Affiliation Affiliation);
