using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>Client stanzas as the XMPP server hands them to the component, written without namespaces.</summary>
public static class RoomStanzas
{
    public const string Service = "conference.localhost";
    public const string Room = "room@conference.localhost";
    public const string Owner = "owner@localhost/desk";
    public const string OwnerNick = "Owner";

    public static XElement Join(string fullJid, string nick, string room = Room) =>
        Parse($"<presence from='{fullJid}' to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>");

    public static XElement Say(string fullJid, string body, string id = "m1", string room = Room) =>
        Parse($"<message from='{fullJid}' to='{room}' type='groupchat' id='{id}'><body>{body}</body></message>");

    public static XElement SetSubject(string fullJid, string subject, string room = Room) =>
        Parse($"<message from='{fullJid}' to='{room}' type='groupchat' id='subject'><subject>{subject}</subject></message>");

    public static XElement Configure(string ownerJid, string room, params (string Field, string Value)[] fields) => Parse(
        $"""
        <iq from='{ownerJid}' to='{room}' type='set' id='config'>
          <query xmlns='http://jabber.org/protocol/muc#owner'>
            <x xmlns='jabber:x:data' type='submit'>
              <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
              {string.Concat(fields.Select(field => $"<field var='{field.Field}'><value>{field.Value}</value></field>"))}
            </x>
          </query>
        </iq>
        """);

    /// <summary>An owner's affiliation change; with a nick it also registers that nick for the user.</summary>
    public static XElement SetAffiliation(string ownerJid, string userBareJid, string affiliation, string? nick = null, string room = Room) => Parse(
        $"""
        <iq from='{ownerJid}' to='{room}' type='set' id='affiliation'>
          <query xmlns='http://jabber.org/protocol/muc#admin'>
            <item jid='{userBareJid}' affiliation='{affiliation}'{(nick is null ? "" : $" nick='{nick}'")}/>
          </query>
        </iq>
        """);

    public static XElement GetRegistration(string fullJid, string room = Room) =>
        Parse($"<iq from='{fullJid}' to='{room}' type='get' id='register'><query xmlns='jabber:iq:register'/></iq>");

    public static XElement DiscoInfo(string fullJid, string to, string id = "disco") =>
        Parse($"<iq from='{fullJid}' to='{to}' type='get' id='{id}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

    public static XElement DiscoItems(string fullJid, string to, string id = "items") =>
        Parse($"<iq from='{fullJid}' to='{to}' type='get' id='{id}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");

    /// <summary>Parses stanza XML written without namespaces into jabber:client.</summary>
    public static XElement Parse(string xml) =>
        XElement.Parse($"<wrapper xmlns='jabber:client'>{xml}</wrapper>").Elements().Single();

    public static string? Body(this XElement stanza) => stanza.Element(Ns.Client + "body")?.Value;

    public static bool IsGroupchatWithBody(this XElement stanza, string body) =>
        stanza.Name == Ns.Client + "message" && stanza.Attribute("type")?.Value == "groupchat" && stanza.Body() == body;

    public static bool HasStatus(this XElement stanza, int code) =>
        stanza.Element(Ns.MucUser + "x")?.Elements(Ns.MucUser + "status").Any(s => s.Attribute("code")?.Value == code.ToString()) == true;

    public static bool IsIqResult(this XElement stanza, string id) =>
        stanza.Name == Ns.Client + "iq" && stanza.Attribute("type")?.Value == "result" && stanza.Attribute("id")?.Value == id;

    public static bool IsError(this XElement stanza, string condition) =>
        stanza.Attribute("type")?.Value == "error" && stanza.Element(Ns.Client + "error")?.Element(Ns.Stanzas + condition) is not null;
}
