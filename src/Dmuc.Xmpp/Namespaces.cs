using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>
/// XML namespaces used across the service. Stanzas are held internally in <see cref="Client"/> whatever
/// stream they came on; the component stream maps jabber:component:accept to it and back.
/// </summary>
public static class Ns
{
    public static readonly XNamespace Client = "jabber:client";
    public static readonly XNamespace Component = "jabber:component:accept";
    public static readonly XNamespace Streams = "http://etherx.jabber.org/streams";
    public static readonly XNamespace StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
    public static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public static readonly XNamespace Muc = "http://jabber.org/protocol/muc";
    public static readonly XNamespace MucUser = "http://jabber.org/protocol/muc#user";
    public static readonly XNamespace MucAdmin = "http://jabber.org/protocol/muc#admin";
    public static readonly XNamespace MucOwner = "http://jabber.org/protocol/muc#owner";
    public static readonly XNamespace DataForms = "jabber:x:data";
    public static readonly XNamespace DiscoInfo = "http://jabber.org/protocol/disco#info";
    public static readonly XNamespace DiscoItems = "http://jabber.org/protocol/disco#items";
    public static readonly XNamespace Delay = "urn:xmpp:delay";
    public static readonly XNamespace StanzaId = "urn:xmpp:sid:0";
    public static readonly XNamespace Ping = "urn:xmpp:ping";
    public static readonly XNamespace Register = "jabber:iq:register";
    public static readonly XNamespace Dmuc = "urn:xmpp:tmp:dmuc:0";
}
