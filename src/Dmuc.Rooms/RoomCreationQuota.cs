using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Why a user may not create a room now: answered with policy-violation of this type and text.</summary>
public sealed record RoomCreationDenied(string Type, string Text);

/// <summary>
/// The rooms each user (bare JID) has created that still exist, and how fast they create them, against
/// <see cref="MucServiceOptions.RoomsPerCreator"/> and <see cref="MucServiceOptions.RoomCreationRate"/>; service
/// admins are counted but never refused. One per service: the room directory asks before a presence that may create
/// a room reaches it, and tells it how that ended. The time is passed in.
/// </summary>
public sealed class RoomCreationQuota(MucServiceOptions options)
{
    private readonly Dictionary<Jid, Jid> _creatorByRoom = new();
    private readonly Dictionary<Jid, int> _roomsByCreator = new();
    private readonly Dictionary<Jid, TokenBucket> _allowances = new();

    /// <summary>A presence that creates the room it is sent to if that room does not exist (XEP-0045 §10.1.1).</summary>
    public static bool IsCreationRequest(XElement stanza) =>
        stanza.Name == Ns.Client + "presence" && stanza.Attribute("type") is null && stanza.Element(Ns.Muc + "x") is not null;

    /// <summary>Whether <paramref name="room"/> is already counted as someone's (created, or being created).</summary>
    public bool IsCounted(Jid room) => _creatorByRoom.ContainsKey(room);

    public int RoomsCreatedBy(Jid creator) => _roomsByCreator.GetValueOrDefault(creator.Bare);

    /// <summary>
    /// Null when <paramref name="creator"/> may create <paramref name="room"/> at <paramref name="now"/>: the room then
    /// counts as theirs until <see cref="Settled"/> says it was not created, or <see cref="Gone"/> that it is gone.
    /// </summary>
    public RoomCreationDenied? Reserve(Jid creator, Jid room, DateTimeOffset now)
    {
        creator = creator.Bare;
        if (!options.IsAdmin(creator))
        {
            if (options.RoomsPerCreator is { } most && RoomsCreatedBy(creator) >= most)
                return new RoomCreationDenied("cancel", $"You have created {most} rooms, the most this service allows; destroy one first");
            if (options.RoomCreationRate is { } rate)
            {
                var allowance = _allowances.GetValueOrDefault(creator, TokenBucket.Full(rate, now));
                if (!allowance.HasToken(rate, now))
                    return new RoomCreationDenied("wait", "You are creating rooms faster than this service allows; wait a moment and try again");
                _allowances[creator] = allowance.Take(rate, now);
            }
        }
        _creatorByRoom[room] = creator;
        _roomsByCreator[creator] = RoomsCreatedBy(creator) + 1;
        return null;
    }

    /// <summary>What became of a reservation: a room not created (it existed already, or the presence was refused) costs nothing.</summary>
    public void Settled(Jid room, bool created)
    {
        if (created || !_creatorByRoom.TryGetValue(room, out var creator)) return;
        Gone(room);
        if (options.RoomCreationRate is { } rate && _allowances.TryGetValue(creator, out var allowance))
            _allowances[creator] = allowance.GiveBack(rate);
    }

    /// <summary>The room was destroyed: it no longer counts against its creator.</summary>
    public void Gone(Jid room)
    {
        if (!_creatorByRoom.Remove(room, out var creator)) return;
        if (--_roomsByCreator[creator] == 0) _roomsByCreator.Remove(creator);
    }
}
