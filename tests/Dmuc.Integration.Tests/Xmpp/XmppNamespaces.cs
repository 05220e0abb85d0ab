using System.Xml.Linq;

namespace Dmuc.Integration.Tests.Xmpp;

public static class XmppNamespaces
{
    public static readonly XNamespace Client = "jabber:client";
    public static readonly XNamespace Streams = "http://etherx.jabber.org/streams";
    public static readonly XNamespace Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    public static readonly XNamespace Bind = "urn:ietf:params:xml:ns:xmpp-bind";
    public static readonly XNamespace Session = "urn:ietf:params:xml:ns:xmpp-session";
    public static readonly XNamespace Ping = "urn:xmpp:ping";
    public static readonly XNamespace StanzaId = "urn:xmpp:sid:0";
}
