using System.Buffers;
using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class StanzaWriterTests
{
    private const string Header =
        "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='1'>";

    private static string Render(XElement element) => Encoding.UTF8.GetString(StanzaWriter.ToUtf8(element));

    [Fact]
    public void Client_namespace_inherits_the_stream_default_and_children_declare_only_changes()
    {
        var message = new XElement(Ns.Client + "message", new XAttribute("to", "a@b"), new XAttribute("type", "groupchat"),
            new XElement(Ns.Client + "body", "hi"),
            new XElement(Ns.MucUser + "x", new XElement(Ns.MucUser + "item", new XAttribute("role", "moderator"))),
            new XElement(Ns.Delay + "delay", new XAttribute("stamp", "2024-01-01T00:00:00Z")));
        Assert.Equal(
            "<message to=\"a@b\" type=\"groupchat\"><body>hi</body>" +
            "<x xmlns=\"http://jabber.org/protocol/muc#user\"><item role=\"moderator\"/></x>" +
            "<delay xmlns=\"urn:xmpp:delay\" stamp=\"2024-01-01T00:00:00Z\"/></message>",
            Render(message));
    }

    [Fact]
    public void Jabber_client_inside_another_namespace_is_declared()
    {
        var forwarded = new XElement(Ns.Client + "message",
            new XElement(XNamespace.Get("urn:xmpp:forward:0") + "forwarded",
                new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", "x")),
                new XElement("none")));
        Assert.Equal(
            "<message><forwarded xmlns=\"urn:xmpp:forward:0\"><message xmlns=\"jabber:client\"><body>x</body></message>" +
            "<none xmlns=\"\"/></forwarded></message>",
            Render(forwarded));
    }

    [Fact]
    public void Text_and_attributes_are_escaped()
    {
        var message = new XElement(Ns.Client + "message", new XAttribute("id", "a\"<&>'\t\n\r"),
            new XElement(Ns.Client + "body", "1 < 2 & 3 > 2 \"'\r\n\u0001 😀"));
        Assert.Equal(
            "<message id=\"a&quot;&lt;&amp;&gt;'&#9;&#10;&#13;\"><body>1 &lt; 2 &amp; 3 &gt; 2 \"'&#13;\n\uFFFD 😀</body></message>",
            Render(message));
    }

    [Fact]
    public void Stream_elements_use_the_stream_prefix_and_xml_lang_the_xml_prefix()
    {
        Assert.Equal(
            "<stream:error><conflict xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/>" +
            "<text xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\">a &amp; b</text></stream:error>",
            Render(StreamError.Element(StreamErrorCondition.Conflict, "a & b")));
        Assert.Equal("<message xml:lang=\"en\"/>", Render(new XElement(Ns.Client + "message", new XAttribute(XNamespace.Xml + "lang", "en"))));
    }

    [Fact]
    public void Namespaced_attributes_get_a_declared_prefix_and_parsed_declarations_are_not_repeated()
    {
        var parsed = XElement.Parse("<message xmlns='jabber:client' xmlns:p='urn:p' p:a='1'><body xmlns='jabber:client'>x</body></message>");
        Assert.Equal("<message xmlns:a0=\"urn:p\" a0:a=\"1\"><body>x</body></message>", Render(parsed));
    }

    [Fact]
    public void Comments_and_processing_instructions_are_dropped() =>
        Assert.Equal("<message><body>ab</body></message>", Render(new XElement(Ns.Client + "message",
            new XComment("no"), new XElement(Ns.Client + "body", "a", new XProcessingInstruction("x", "y"), new XCData("b")))));

    public static TheoryData<string> Stanzas() => new()
    {
        "<message from='a@b/c' to='room@muc' type='groupchat' id='1'><body>héllo &amp; &lt;😀&gt;</body></message>",
        "<presence from='r@m/n' to='u@s/r'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator' jid='u@s/r'/><status code='110'/></x></presence>",
        "<iq type='result' id='x'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' type='text' name='A &amp; B'/><feature var='http://jabber.org/protocol/muc'/></query></iq>",
        "<message><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>x</body></message></forwarded><p:x xmlns:p='urn:p' p:y='z' w='&#9;&#10;&#13;'/></message>",
        "<message><body>  spaced\n  lines\r\n </body><subject/><thread parent='&quot;'>t</thread></message>",
        "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    };

    [Theory]
    [MemberData(nameof(Stanzas))]
    public void Parse_render_parse_round_trips(string stanza)
    {
        var first = RecordingHandler.Parse(Header + stanza).Elements.Single();
        var rendered = Encoding.UTF8.GetString(StanzaWriter.ToUtf8(first));
        var second = RecordingHandler.Parse(Header + rendered).Elements.Single();
        Assert.Equal(first.ToString(SaveOptions.DisableFormatting), second.ToString(SaveOptions.DisableFormatting));
        Assert.True(XNode.DeepEquals(first, second));
    }

    [Fact]
    public void Rendered_stanza_splices_each_recipient_replacing_the_original_to()
    {
        var message = new XElement(Ns.Client + "message", new XAttribute("to", "ignored@x"), new XAttribute("type", "groupchat"),
            new XElement(Ns.Client + "body", "hi"));
        var rendered = RenderedStanza.Render(message);
        var output = new ArrayBufferWriter<byte>();
        rendered.WriteTo(output, "a@b/c");
        rendered.WriteTo(output, "x@y/\"q&<");
        rendered.WriteTo(output, Jid.Parse("j@k/L"));
        rendered.WriteTo(output, (string?)null);
        Assert.Equal(
            "<message to=\"a@b/c\" type=\"groupchat\"><body>hi</body></message>" +
            "<message to=\"x@y/&quot;q&amp;&lt;\" type=\"groupchat\"><body>hi</body></message>" +
            "<message to=\"j@k/L\" type=\"groupchat\"><body>hi</body></message>" +
            "<message type=\"groupchat\"><body>hi</body></message>",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void A_stanza_for_a_multicast_service_carries_each_recipient_as_a_blind_copy_and_parses_back()
    {
        var message = new XElement(Ns.Client + "message", new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", "hi"));
        var multicast = RenderedStanza.Render(message).WithRecipients(["a@b/c", "x@y/\"q&<"], RecipientListForm.BlindCopies);

        var output = new ArrayBufferWriter<byte>();
        multicast.WriteTo(output, "multicast.b");
        Assert.Equal(
            "<message to=\"multicast.b\" type=\"groupchat\"><body>hi</body>" +
            "<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid=\"a@b/c\"/>" +
            "<address type='bcc' jid=\"x@y/&quot;q&amp;&lt;\"/></addresses></message>",
            Encoding.UTF8.GetString(output.WrittenSpan));
        var parsed = RecordingHandler.Parse(Header + Encoding.UTF8.GetString(output.WrittenSpan)).Elements.Single();
        Assert.Equal(["a@b/c", "x@y/\"q&<"], parsed.Descendants((XNamespace)"http://jabber.org/protocol/address" + "address")
            .Select(address => (string?)address.Attribute("jid")));
    }

    [Fact]
    public void A_stanza_for_a_compact_multicast_service_carries_the_recipients_as_one_tab_separated_text_and_parses_back()
    {
        var presence = new XElement(Ns.Client + "presence", new XAttribute("from", "r@m/n"));
        var multicast = RenderedStanza.Render(presence).WithRecipients(["a@b/c", "x@y/\"q&< >", "d@b/e"], RecipientListForm.Compact);

        var output = new ArrayBufferWriter<byte>();
        multicast.WriteTo(output, "b");
        Assert.Equal(
            "<presence to=\"b\" from=\"r@m/n\"><recipients xmlns='urn:xmpp:tmp:dmuc:multicast:0'>" +
            "a@b/c\tx@y/&quot;q&amp;&lt; &gt;\td@b/e</recipients></presence>",
            Encoding.UTF8.GetString(output.WrittenSpan));
        var parsed = RecordingHandler.Parse(Header + Encoding.UTF8.GetString(output.WrittenSpan)).Elements.Single();
        Assert.Equal(["a@b/c", "x@y/\"q&< >", "d@b/e"],
            parsed.Element((XNamespace)"urn:xmpp:tmp:dmuc:multicast:0" + "recipients")!.Value.Split('\t'));
    }

    [Fact]
    public void A_self_closing_stanza_gets_an_end_tag_to_hold_the_addresses()
    {
        var presence = new XElement(Ns.Client + "presence", new XAttribute("from", "r@m/n"));
        var output = new ArrayBufferWriter<byte>();
        RenderedStanza.Render(presence).WithRecipients(["a@b/c", "d@b/e"], RecipientListForm.BlindCopies).WriteTo(output, "b");
        Assert.Equal(
            "<presence to=\"b\" from=\"r@m/n\"><addresses xmlns='http://jabber.org/protocol/address'>" +
            "<address type='bcc' jid=\"a@b/c\"/><address type='bcc' jid=\"d@b/e\"/></addresses></presence>",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Rendered_stanza_copies_into_a_span_of_the_announced_size()
    {
        var rendered = RenderedStanza.Render(new XElement(Ns.Client + "presence", new XAttribute("from", "r@m/é")));
        var to = "ü@b/😀";
        var buffer = new byte[rendered.GetByteCount(to)];
        Assert.Equal(buffer.Length, rendered.CopyTo(buffer, to));
        var expected = Render(new XElement(Ns.Client + "presence", new XAttribute("to", to), new XAttribute("from", "r@m/é")));
        Assert.Equal(expected, Encoding.UTF8.GetString(buffer));
    }

    [Fact]
    public void Large_stanzas_render_through_many_buffer_segments()
    {
        var body = string.Concat(Enumerable.Repeat("😀<&x", 50_000));
        var rendered = StanzaWriter.ToUtf8(new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", body)));
        var parsed = RecordingHandler.Parse(Encoding.UTF8.GetBytes(Header).Concat(rendered).ToArray(), 4 * 1024 * 1024).Elements.Single();
        Assert.Equal(body, parsed.Value);
    }
}
