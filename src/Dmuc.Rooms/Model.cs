using System.Text.Json.Serialization;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Affiliations, valued by rank so that comparisons read naturally.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Affiliation>))]
public enum Affiliation { Outcast = -1, None = 0, Member = 1, Admin = 2, Owner = 3 }

/// <summary>Roles, valued by rank.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Role>))]
public enum Role { None = 0, Visitor = 1, Participant = 2, Moderator = 3 }

/// <summary>muc#roomconfig_whois: who may see occupants' real JIDs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Whois>))]
public enum Whois { Moderators, Anyone }

/// <summary>muc#roomconfig_allowpm: who may send private messages to other occupants, by role.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PrivateMessagesFrom>))]
public enum PrivateMessagesFrom { Anyone, Participants, Moderators, Nobody }

/// <summary>muc#roomconfig_presencebroadcast: whose presence is broadcast, by role.</summary>
[Flags]
[JsonConverter(typeof(JsonStringEnumConverter<PresenceBroadcastRoles>))]
public enum PresenceBroadcastRoles
{
    Nobody = 0,
    None = 1,
    Visitor = 2,
    Participant = 4,
    Moderator = 8,
    Default = Visitor | Participant | Moderator,
}

/// <summary>The owner-configurable settings of a room (the muc#roomconfig form).</summary>
public sealed record RoomConfig
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? Language { get; init; }
    public bool Public { get; init; }
    public bool Persistent { get; init; }
    public bool MembersOnly { get; init; }
    public bool AllowMemberInvites { get; init; }
    public bool Moderated { get; init; }
    public Whois Whois { get; init; } = Whois.Moderators;
    /// <summary>Whether participants (not only moderators) may change the subject.</summary>
    public bool ChangeSubject { get; init; }
    public string? Password { get; init; }
    public int HistoryLength { get; init; } = 20;
    /// <summary>How many history messages an entrant gets who does not say (muc#roomconfig_defaulthistorymessages);
    /// null: the whole <see cref="HistoryLength"/>.</summary>
    public int? DefaultHistoryMessages { get; init; }
    /// <summary>Most occupants at once (muc#roomconfig_maxusers); null: no limit. Owners and admins may always enter.</summary>
    public int? MaxUsers { get; init; }
    public PrivateMessagesFrom AllowPrivateMessages { get; init; } = PrivateMessagesFrom.Anyone;
    /// <summary>Whether the room answers XEP-0313 archive queries (muc#roomconfig_enablearchiving).</summary>
    public bool Archived { get; init; } = true;
    public PresenceBroadcastRoles PresenceBroadcast { get; init; } = PresenceBroadcastRoles.Default;

    public bool Broadcasts(Role role) => PresenceBroadcast.HasFlag(role switch
    {
        Role.Visitor => PresenceBroadcastRoles.Visitor,
        Role.Participant => PresenceBroadcastRoles.Participant,
        Role.Moderator => PresenceBroadcastRoles.Moderator,
        _ => PresenceBroadcastRoles.None,
    });
}

/// <summary>A user's (or a whole domain's) standing in a room; a reserved nickname is registration data.</summary>
public sealed record AffiliationEntry(Jid Jid, Affiliation Affiliation, string? ReservedNick = null, string? Reason = null);

/// <summary>
/// A message of the discussion history: the groupchat message as broadcast (from=room/nick, no to), kept as
/// XML text so the journal stays plain JSON.
/// </summary>
public sealed record HistoryEntry(string Stanza, Jid SenderBareJid, string Nick, DateTimeOffset Timestamp, string StanzaId);

/// <summary>
/// What is left of a destroyed persistent room until <see cref="Until"/>: its address answers <c>gone</c>, pointing
/// to <see cref="AlternateVenue"/> (XEP-0045 §10.9), so the name cannot be taken over at once.
/// </summary>
public sealed record RoomTombstone(string? Reason, Jid? AlternateVenue, DateTimeOffset Until);

/// <summary>The room subject; <see cref="Nick"/> is who set it.</summary>
public sealed record RoomSubject(string Text, string Nick, DateTimeOffset ChangedAt);

/// <summary>The protocol spellings of affiliations and roles.</summary>
public static class MucNames
{
    public static string Wire(this Affiliation affiliation) => affiliation switch
    {
        Affiliation.Outcast => "outcast",
        Affiliation.Member => "member",
        Affiliation.Admin => "admin",
        Affiliation.Owner => "owner",
        _ => "none",
    };

    public static string Wire(this Role role) => role switch
    {
        Role.Visitor => "visitor",
        Role.Participant => "participant",
        Role.Moderator => "moderator",
        _ => "none",
    };

    public static bool TryParseAffiliation(string? text, out Affiliation affiliation)
    {
        foreach (var candidate in Enum.GetValues<Affiliation>())
        {
            if (candidate.Wire() == text)
            {
                affiliation = candidate;
                return true;
            }
        }
        affiliation = Affiliation.None;
        return false;
    }

    public static bool TryParseRole(string? text, out Role role)
    {
        foreach (var candidate in Enum.GetValues<Role>())
        {
            if (candidate.Wire() == text)
            {
                role = candidate;
                return true;
            }
        }
        role = Role.None;
        return false;
    }
}
