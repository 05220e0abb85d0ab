using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class StanzaTextTests
{
    public static TheoryData<string> Stanzas => new()
    {
        "<message xmlns='jabber:client' from='a@b/c' type='groupchat' id='m1'><body>hi &lt;there&gt; &amp; ü ☕ 'q' \"d\"</body></message>",
        "<message xmlns='jabber:client' type='groupchat'><body>x</body><x:encrypted xmlns:x='urn:xmpp:eme:0'/><markable xmlns='urn:xmpp:chat-markers:0'/></message>",
        "<presence xmlns='jabber:client' xml:lang='it'><show>away</show><status>café\tnew\nline</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v=' /></presence>",
        "<message xmlns='jabber:client' xmlns:p='urn:example:attr' p:flag='1'><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>a<br/>b</p></body></html></message>",
        "<message xmlns='jabber:client'><error xmlns:s='http://etherx.jabber.org/streams'><s:text>stream-namespaced payload</s:text></error></message>",
    };

    [Theory]
    [MemberData(nameof(Stanzas))]
    public void Kept_text_reads_back_as_the_same_stanza(string xml)
    {
        var stanza = XElement.Parse(xml);

        var kept = StanzaText.Of(stanza);

        // Compared as the stream would carry them: names, attributes and text, whatever the declarations' spelling.
        Assert.Equal(Canonical(stanza), Canonical(XElement.Parse(kept)));
        Assert.Equal(Canonical(XElement.Parse(stanza.ToString(SaveOptions.DisableFormatting))), Canonical(XElement.Parse(kept)));
    }

    [Fact]
    public void A_message_declares_its_namespace_once_at_the_top()
    {
        var message = new XElement(Ns.Client + "message", new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", "hi"));

        Assert.Equal("<message xmlns=\"jabber:client\" type=\"groupchat\"><body>hi</body></message>", StanzaText.Of(message));
    }

    [Fact]
    public void Keeping_a_message_allocates_little_more_than_its_text()
    {
        var message = XElement.Parse(
            "<message xmlns='jabber:client' from='room@conference.localhost/n1' type='groupchat' id='m1'><body>message number 1 with a body of ordinary length</body>" +
            "<stanza-id xmlns='urn:xmpp:sid:0' id='0b9e1c9e-6d59-4c34-9a49-7e1cbb3a1f0e' by='room@conference.localhost'/></message>");
        var text = StanzaText.Of(message);

        var before = GC.GetAllocatedBytesForCurrentThread();
        StanzaText.Of(message);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Each room keeps every message it relays as text: with a buffer of its own per call (the writer reserves 4 KiB at a
        // time) that was 5.1 KB for this message, about a third of everything a room allocated to decide it.
        Assert.InRange(allocated, 0, 2 * text.Length + 1024);
    }

    private static string Canonical(XElement element) => Encoding.UTF8.GetString(StanzaWriter.ToUtf8(element));
}
