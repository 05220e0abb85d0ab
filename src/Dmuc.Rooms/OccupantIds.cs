using System.Security.Cryptography;
using System.Text;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// Values derived from the room's secret salt: XEP-0421 occupant ids (stable per bare JID, opaque to others)
/// and the tags that let private IQ responses find the asking session without revealing its JID.
/// </summary>
internal static class OccupantIds
{
    public static string? For(RoomData room, Jid bareJid) =>
        room.Options.OccupantIds ? Convert.ToBase64String(Mac(room, bareJid.ToString())) : null;

    public static string SessionTag(RoomData room, Jid realJid) => Convert.ToHexString(Mac(room, realJid.ToString()), 0, 8);

    private static byte[] Mac(RoomData room, string value) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(room.Salt), Encoding.UTF8.GetBytes(value));
}
