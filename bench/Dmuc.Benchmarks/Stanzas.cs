using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Benchmarks;

/// <summary>Typical MUC traffic as a server delivers it on a component stream.</summary>
internal static class Stanzas
{
    public const string StreamHeader =
        "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='b1' from='muc.example.org'>";

    public const string GroupchatMessage =
        "<message from='juliet@capulet.example/balcony' to='garden@muc.example.org' type='groupchat' id='a6c2f9e0-44b1-4c5e-9f0e'>" +
        "<body>O Romeo, Romeo! wherefore art thou Romeo? Deny thy father and refuse thy name.</body>" +
        "<origin-id xmlns='urn:xmpp:sid:0' id='a6c2f9e0-44b1-4c5e-9f0e'/></message>";

    public const string Presence =
        "<presence from='romeo@montague.example/orchard' to='garden@muc.example.org/Romeo' id='p1'>" +
        "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='20'/></x>" +
        "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>" +
        "<show>away</show><status>in the orchard</status></presence>";

    public static byte[] Repeated(string stanza, int times) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(stanza, times)));

    /// <summary>The message as the room reflects it to occupants.</summary>
    public static XElement ReflectedMessage() =>
        new(Ns.Client + "message",
            new XAttribute("from", "garden@muc.example.org/Juliet"),
            new XAttribute("type", "groupchat"),
            new XAttribute("id", "a6c2f9e0-44b1-4c5e-9f0e"),
            new XElement(Ns.Client + "body", "O Romeo, Romeo! wherefore art thou Romeo? Deny thy father & refuse thy name."),
            new XElement(Ns.StanzaId + "stanza-id", new XAttribute("by", "garden@muc.example.org"), new XAttribute("id", "01HV3Q6ZJ8")),
            new XElement(Ns.StanzaId + "origin-id", new XAttribute("id", "a6c2f9e0-44b1-4c5e-9f0e")));
}
