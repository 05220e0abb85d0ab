using System.Xml.Linq;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>A chat user: the nick they use in rooms and the full JID their XMPP server knows them by.</summary>
public sealed record ChatUser(string Nick, string Jid)
{
    public string Host => Dmuc.Xmpp.Jid.Parse(Jid).Domain;
    public string BareJid => Dmuc.Xmpp.Jid.Parse(Jid).Bare.ToString();
    public override string ToString() => $"{Nick} ({Jid})";
}

/// <summary>XEP-0282 §3.1: the 1990 IRC war, fought in wallops@channel.avalon.irc.</summary>
public static class Wallops
{
    public const string Service = "channel.avalon.irc";
    public const string Room = "wallops@" + Service;

    /// <summary>The primary's own XMPP host; its users are served by the primary directly.</summary>
    public const string Avalon = "avalon.irc";
    public const string Killrc = "killrc.oulubox.irc";
    public const string Eris = "eris.dclxvii.irc";
    public const string Vesa = "vesa.yeggmaex.irc";

    public static readonly ChatUser Wumpus = new("Wumpus", "argl@killrc.oulubox.irc/laptop");
    public static readonly ChatUser Valdis = new("Valdis", "valdis@killrc.oulubox.irc/desktop");
    public static readonly ChatUser Phaedrus = new("Phaedrus", "phaedrus@killrc.oulubox.irc/phone");
    public static readonly ChatUser WiZ = new("WiZ", "squit@eris.dclxvii.irc/jupiter");
    public static readonly ChatUser Troy = new("Troy", "troy@eris.dclxvii.irc/screwdriver");
    public static readonly ChatUser BigCheese = new("BigCheese", "rubenro@vesa.yeggmaex.irc/shaver");
    public static readonly ChatUser Efchen = new("Efchen", "msa@vesa.yeggmaex.irc/bicycle");

    /// <summary>Speakers of Listing 15's history; not in §3.1's table, so they are users of the primary's own host.</summary>
    public static readonly ChatUser Trillian = new("Trillian", "trillian@avalon.irc/terminal");
    public static readonly ChatUser BlondeBoy = new("BlondeBoy", "blondeboy@avalon.irc/terminal");
    public static readonly ChatUser Dclxvi = new("DCLXVI", "dclxvi@avalon.irc/terminal");
    public static readonly ChatUser Cerebus = new("Cerebus", "cerebus@avalon.irc/terminal");

    public static DmucNodeSpec[] Nodes => [new(Avalon, IsPrimary: true), new(Killrc), new(Eris), new(Vesa)];

    public static IReadOnlyList<string> ReplicaHosts { get; } = [Killrc, Eris, Vesa];
}

/// <summary>The stanzas a client sends to a room (or to one occupant of it), written as an XMPP server hands them over.</summary>
public static class RoomRequests
{
    public static XElement Enter(ChatUser user, string room, string? historyRequest = null) => Parse(
        $"<presence from='{user.Jid}' to='{room}/{user.Nick}'><x xmlns='http://jabber.org/protocol/muc'>{historyRequest}</x></presence>");

    public static XElement UpdatePresence(ChatUser user, string room, string show) =>
        Parse($"<presence from='{user.Jid}' to='{room}/{user.Nick}'><show>{show}</show></presence>");

    public static XElement ChangeNick(ChatUser user, string room, string newNick) =>
        Parse($"<presence from='{user.Jid}' to='{room}/{newNick}'/>");

    public static XElement Leave(ChatUser user, string room) =>
        Parse($"<presence from='{user.Jid}' to='{room}/{user.Nick}' type='unavailable'/>");

    public static XElement Say(ChatUser user, string room, string body, string id) =>
        Parse($"<message from='{user.Jid}' to='{room}' type='groupchat' id='{id}'><body>{body}</body></message>");

    /// <summary>A groupchat message from a client that sets no ids.</summary>
    public static XElement SayWithoutId(ChatUser user, string room, string body) =>
        Parse($"<message from='{user.Jid}' to='{room}' type='groupchat'><body>{body}</body></message>");

    /// <summary>A groupchat message that asks not to be stored (XEP-0334).</summary>
    public static XElement SayUnstored(ChatUser user, string room, string body, string id) =>
        Parse($"<message from='{user.Jid}' to='{room}' type='groupchat' id='{id}'><body>{body}</body><no-store xmlns='urn:xmpp:hints'/></message>");

    public static XElement PrivateMessage(ChatUser user, string room, string toNick, string body) =>
        Parse($"<message from='{user.Jid}' to='{room}/{toNick}' type='chat' id='pm'><body>{body}</body></message>");

    public static XElement Ping(ChatUser user, string room, string toNick, string id) =>
        Parse($"<iq from='{user.Jid}' to='{room}/{toNick}' type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>");

    /// <summary>An IQ result from <paramref name="user"/> to an occupant JID, answering the (rewritten) <paramref name="id"/>.</summary>
    public static XElement IqResult(ChatUser user, string to, string id) =>
        Parse($"<iq from='{user.Jid}' to='{to}' type='result' id='{id}'/>");

    /// <summary>An owner's empty submission of the configuration form: an instant room (XEP-0045 §10.1.2).</summary>
    public static XElement AcceptDefaultConfiguration(ChatUser owner, string room) => Parse($"""
        <iq from='{owner.Jid}' to='{room}' type='set' id='create'>
          <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query>
        </iq>
        """);

    public static XElement SetAffiliation(ChatUser owner, string room, string bareJid, string affiliation) => Parse($"""
        <iq from='{owner.Jid}' to='{room}' type='set' id='affiliation'>
          <query xmlns='http://jabber.org/protocol/muc#admin'><item jid='{bareJid}' affiliation='{affiliation}'/></query>
        </iq>
        """);

    /// <summary>A moderator changes an occupant's role; role 'none' is a kick.</summary>
    public static XElement SetRole(ChatUser moderator, string room, string nick, string role, string id = "role") => Parse($"""
        <iq from='{moderator.Jid}' to='{room}' type='set' id='{id}'>
          <query xmlns='http://jabber.org/protocol/muc#admin'><item nick='{nick}' role='{role}'/></query>
        </iq>
        """);
}

/// <summary>Predicates on what a user receives.</summary>
public static class Received
{
    public static Func<XElement, bool> PresenceOf(string room, string nick, bool available = true) => stanza =>
        stanza.Name == Ns.Client + "presence" && stanza.Attribute("from")?.Value == $"{room}/{nick}"
        && (stanza.Attribute("type")?.Value == "unavailable") != available;

    public static Func<XElement, bool> OwnPresence(string room, string nick) => stanza =>
        PresenceOf(room, nick)(stanza) && stanza.HasStatus(110);

    public static Func<XElement, bool> GroupchatBody(string body) => stanza => stanza.IsGroupchatWithBody(body);

    /// <summary>
    /// The reply to an iq with <paramref name="id"/>, from <paramref name="from"/> (the room, or an occupant of it)
    /// when given: waits match past deliveries too, and ids repeat across rooms.
    /// </summary>
    public static Func<XElement, bool> IqReply(string id, string? from = null) => stanza =>
        stanza.Name == Ns.Client + "iq" && stanza.Attribute("id")?.Value == id
        && (from is null || stanza.Attribute("from")?.Value == from)
        && stanza.Attribute("type")?.Value is "result" or "error";

    public static Func<XElement, bool> Subject(string room) => stanza =>
        stanza.Name == Ns.Client + "message" && stanza.Element(Ns.Client + "subject") is not null
        && stanza.Attribute("from")?.Value?.StartsWith(room, StringComparison.Ordinal) == true;
}
