using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class XmppStreamParserTests
{
    private const string Header =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' " +
        "xmlns:stream='http://etherx.jabber.org/streams' id='s1d' from='muc.example.org' version='1.0' xml:lang='en'>";

    private const string SampleStream = Header +
        "<handshake/>\n" +
        "<message from='a@b/c' to='room@muc.example.org/nick' type='groupchat' id='m1'>" +
        "<body>héllo wörld 😀 &amp; &lt;tag&gt; &#x1F600;&#233;&quot;&apos;\r\nline</body>" +
        "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation=\"none\" role='participant'/></x></message>" +
        "  \n\t " +
        "<presence from='x@y' xml:lang='de'><status><![CDATA[a <b> & ]] c]]></status>" +
        "<p:foo xmlns:p='urn:p' p:attr='v&#10;w' plain=' a\tb '/></presence>" +
        "<iq type='get' id='q'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>" +
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" +
        "</stream:stream>  ";

    private static readonly byte[] SampleBytes = Encoding.UTF8.GetBytes(SampleStream);

    private const int SmallLimit = 1024;
    private const int ShallowDepth = 4;

    // Text that a server may send: every escape, raw '>', '"' and "/>"-lookalikes, multi-byte characters.
    private static readonly string Filler = string.Concat(Enumerable.Repeat("0123456789abcdef &apos; \" > &lt; &amp; é /> ]] ", 40));

    /// <summary>Under <see cref="SmallLimit"/> and <see cref="ShallowDepth"/>: one stanza too deep, two too large, one with an
    /// undeclared prefix, one fine in between.</summary>
    private static readonly string RefusalStream = Header +
        "<message from='a@b/c' to='room@muc.example.org' id='deep' type='groupchat'><a><b><c/><c><d/></c></b></a>" +
        "<x xmlns='urn:x'><![CDATA[<e>]]>&amp;</x></message>" +
        "<iq from='a@b/c' id='fine' type='get'><query xmlns='urn:q'/></iq>" +
        "<message from='a@b/c' id='big' type='chat'><body attr='>/'>" + Filler + "</body><x xmlns='urn:x'/></message>" +
        "<presence id='big-tag' status='" + Filler + "'/>" +
        "<message from='a@b/c' id='prefix' type='groupchat'><body>b</body><x p:a='1'><y/></x></message>" +
        "<message id='last'/></stream:stream>";

    /// <summary>A stream, and the limits it is parsed under: what chunking must not change.</summary>
    public static TheoryData<string, int, int> Streams => new()
    {
        { SampleStream, XmppStreamParser.DefaultMaxStanzaBytes, XmppStreamParser.DefaultMaxDepth },
        { RefusalStream, SmallLimit, ShallowDepth },
    };

    [Fact]
    public void Reports_header_elements_and_end()
    {
        var handler = RecordingHandler.Parse(SampleBytes);
        Assert.Equal(new StreamHeader("s1d", "muc.example.org", null, "1.0", "en", "jabber:component:accept"), handler.Header);
        Assert.True(handler.Ended);
        Assert.Equal(5, handler.Elements.Count);

        var (handshake, message, presence, iq, error) =
            (handler.Elements[0], handler.Elements[1], handler.Elements[2], handler.Elements[3], handler.Elements[4]);
        Assert.Equal(Ns.Client + "handshake", handshake.Name);
        Assert.Equal(Ns.Client + "message", message.Name);
        Assert.Equal("groupchat", message.Attribute("type")?.Value);
        Assert.Equal("héllo wörld 😀 & <tag> 😀é\"'\nline", message.Element(Ns.Client + "body")?.Value);
        Assert.Equal("participant",
            message.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item")?.Attribute("role")?.Value);
        Assert.Equal("de", presence.Attribute(XNamespace.Xml + "lang")?.Value);
        Assert.Equal("a <b> & ]] c", presence.Element(Ns.Client + "status")?.Value);
        var foo = presence.Element(XNamespace.Get("urn:p") + "foo")!;
        Assert.Equal("v\nw", foo.Attribute(XNamespace.Get("urn:p") + "attr")?.Value);
        Assert.Equal(" a b ", foo.Attribute("plain")?.Value);
        Assert.Equal(Ns.DiscoInfo + "query", iq.Elements().Single().Name);
        Assert.Equal(Ns.Streams + "error", error.Name);
        Assert.Equal(Ns.StreamErrors + "conflict", error.Elements().Single().Name);
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void One_byte_at_a_time_gives_the_same_result(string stream, int maxStanzaBytes, int maxDepth)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        var handler = new RecordingHandler();
        var parser = new XmppStreamParser(handler, maxStanzaBytes, maxDepth);
        foreach (var b in bytes) parser.Feed([b]);
        Assert.Equal(RecordingHandler.Parse(bytes, maxStanzaBytes, maxDepth).Events, handler.Events);
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void Every_split_point_gives_the_same_result(string stream, int maxStanzaBytes, int maxDepth)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        var expected = RecordingHandler.Parse(bytes, maxStanzaBytes, maxDepth).Events;
        for (var split = 1; split < bytes.Length; split++)
        {
            var handler = new RecordingHandler();
            var parser = new XmppStreamParser(handler, maxStanzaBytes, maxDepth);
            parser.Feed(bytes.AsSpan(0, split));
            parser.Feed(bytes.AsSpan(split));
            Assert.Equal(expected, handler.Events);
        }
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void Random_chunk_sizes_give_the_same_result(string stream, int maxStanzaBytes, int maxDepth)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        var expected = RecordingHandler.Parse(bytes, maxStanzaBytes, maxDepth).Events;
        var random = new Random(42);
        for (var run = 0; run < 200; run++)
        {
            var handler = new RecordingHandler();
            var parser = new XmppStreamParser(handler, maxStanzaBytes, maxDepth);
            for (var position = 0; position < bytes.Length;)
            {
                var size = Math.Min(random.Next(1, 40), bytes.Length - position);
                parser.Feed(bytes.AsSpan(position, size));
                position += size;
            }
            Assert.Equal(expected, handler.Events);
        }
    }

    [Fact]
    public void Stanzas_over_a_limit_are_skipped_and_reported_with_their_attributes_and_the_stream_goes_on()
    {
        var handler = RecordingHandler.Parse(RefusalStream, SmallLimit, ShallowDepth);
        Assert.Equal(["fine", "last"], handler.Elements.Select(e => e.Attribute("id")?.Value));
        Assert.True(handler.Ended);
        Assert.Equal([StanzaRefusal.TooDeep, StanzaRefusal.TooLarge, StanzaRefusal.TooLarge, StanzaRefusal.BadNamespaces],
            handler.Refused.Select(r => r.Refusal));

        var (deep, big, bigTag) = (handler.Refused[0], handler.Refused[1], handler.Refused[2]);
        Assert.Equal(Ns.Client + "message", deep.Stanza.Name);
        Assert.Equal(["a@b/c", "room@muc.example.org", "deep", "groupchat"], deep.Stanza.Attributes().Select(a => a.Value));
        Assert.Empty(deep.Stanza.Nodes());
        Assert.Equal($"elements nested deeper than {ShallowDepth} levels", deep.Reason);
        Assert.Equal(Ns.Client + "message", big.Stanza.Name);
        Assert.Equal(["a@b/c", "big", "chat"], big.Stanza.Attributes().Select(a => a.Value));
        Assert.Empty(big.Stanza.Nodes());
        Assert.Equal($"stanza larger than {SmallLimit} bytes", big.Reason);
        // Its start tag alone is over the limit: only the name is known.
        Assert.Equal(Ns.Client + "presence", bigTag.Stanza.Name);
        Assert.Empty(bigTag.Stanza.Attributes());
    }

    [Fact]
    public void The_default_size_limit_is_2_MiB()
    {
        const int documented = 2 * 1024 * 1024;
        var handler = new RecordingHandler();
        var parser = new XmppStreamParser(handler);
        parser.Feed(Encoding.UTF8.GetBytes(Header + StanzaOfSize(documented) + StanzaOfSize(documented + 1)));
        Assert.Single(handler.Elements);
        Assert.Equal($"stanza larger than {documented} bytes", Assert.Single(handler.Refused).Reason);
    }

    [Fact]
    public void The_default_depth_is_64_levels_below_the_stream()
    {
        static string Nested(int levels) => Header + "<message id='m'>" + string.Concat(Enumerable.Repeat("<a>", levels - 1)) +
                                            string.Concat(Enumerable.Repeat("</a>", levels - 1)) + "</message>";
        Assert.Single(RecordingHandler.Parse(Nested(XmppStreamParser.DefaultMaxDepth)).Elements);
        var refused = Assert.Single(RecordingHandler.Parse(Nested(XmppStreamParser.DefaultMaxDepth + 1)).Refused);
        Assert.Equal(StanzaRefusal.TooDeep, refused.Refusal);
        Assert.Equal("elements nested deeper than 64 levels", refused.Reason);
    }

    [Theory]
    [InlineData("<message from='a@b/c' id='huge'><body>", "</body><x><y/></x></message>")]
    [InlineData("<message from='a@b/c' id='huge' data='", "'><body/></message>")]
    [InlineData("<message from='a@b/c' id='huge'><x data='", "'/></message>")]
    public void A_huge_stanza_fed_in_chunks_is_skipped_in_bounded_memory(string opening, string closing)
    {
        var handler = new RecordingHandler();
        var parser = new XmppStreamParser(handler);
        parser.Feed(Encoding.UTF8.GetBytes(Header + opening));
        var chunk = new byte[64 * 1024];
        chunk.AsSpan().Fill((byte)'a');
        // Warm up the parse, so that what follows measures only the skipping.
        for (var i = 0; i < 40; i++) parser.Feed(chunk);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1600; i++) parser.Feed(chunk); // 100 MiB
        parser.Feed(Encoding.UTF8.GetBytes(closing + "<message id='after'/>"));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.InRange(allocated, 0, 64 * 1024);
        Assert.Equal(Ns.Client + "message", Assert.Single(handler.Refused).Stanza.Name);
        Assert.Equal("after", Assert.Single(handler.Elements).Attribute("id")?.Value);
        Assert.InRange(parser.RetainedBufferBytes, 0, 256 * 1024);
    }

    [Fact]
    public void A_large_stanza_does_not_pin_its_buffers_once_parsed()
    {
        var parser = new XmppStreamParser(new RecordingHandler());
        parser.Feed(Encoding.UTF8.GetBytes(Header + StanzaOfSize(XmppStreamParser.DefaultMaxStanzaBytes)));
        Assert.InRange(parser.RetainedBufferBytes, 0, 256 * 1024);
    }

    [Theory]
    [InlineData("<message><!-- sneaky --></message>", StreamErrorCondition.RestrictedXml)]
    [InlineData("<message><?pi?></message>", StreamErrorCondition.RestrictedXml)]
    [InlineData("<message><!x></message>", StreamErrorCondition.NotWellFormed)]
    public void Stream_violations_inside_a_skipped_stanza_still_end_the_stream(string tail, StreamErrorCondition condition) =>
        AssertViolation(condition, Header + "<message><body>" + new string('a', SmallLimit) + "</body>" + tail, SmallLimit);

    [Fact]
    public void A_stream_header_over_the_limit_ends_the_stream() =>
        AssertViolation(StreamErrorCondition.PolicyViolation,
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' id='" + new string('x', SmallLimit) + "'>", SmallLimit);

    [Fact]
    public void Keepalive_whitespace_between_stanzas_is_ignored()
    {
        var handler = RecordingHandler.Parse(Header + " \n \t\r\n <message/>   <message/> \n");
        Assert.Equal(2, handler.Elements.Count);
        Assert.False(handler.Ended);
    }

    [Theory]
    [InlineData("<!DOCTYPE foo>", false)]
    [InlineData("<!DOCTYPE foo [<!ENTITY x 'y'>]>", false)]
    [InlineData("<?php echo 1; ?>", false)]
    [InlineData("<!-- comment -->", false)]
    [InlineData("<message><!-- comment --></message>", true)]
    [InlineData("<message><?pi data?></message>", true)]
    [InlineData("<?xml version='1.0'?>", true)]
    [InlineData("<message><body>&foo;</body></message>", true)]
    [InlineData("<message to='&nbsp;'/>", true)]
    public void Restricted_xml_is_refused(string xml, bool afterHeader)
    {
        var input = afterHeader ? Header + xml : xml + Header;
        AssertViolation(StreamErrorCondition.RestrictedXml, input);
    }

    [Theory]
    [InlineData("<message></presence>")]
    [InlineData("<message><body></message></body>")]
    [InlineData("</message>")]
    [InlineData("hello")]
    [InlineData("<message><body>a & b</body></message>")]
    [InlineData("<message><body>&#0;</body></message>")]
    [InlineData("<message><body>&#xD800;</body></message>")]
    [InlineData("<message><body>&#x110000;</body></message>")]
    [InlineData("<message><body>&#xZZ;</body></message>")]
    [InlineData("<message><body>\u0001</body></message>")]
    [InlineData("<message><body>a ]]> b</body></message>")]
    [InlineData("<message id='1' id='2'/>")]
    [InlineData("<message id='1'type='chat'/>")]
    [InlineData("<message id=1/>")]
    [InlineData("<message id/>")]
    [InlineData("<message id='<'/>")]
    [InlineData("<1message/>")]
    [InlineData("<message a b='1'/>")]
    [InlineData("< message/>")]
    [InlineData("<![CDATA[x]]>")]
    [InlineData("<!ELEMENT x ANY>")]
    [InlineData("</stream:stream><message/>")]
    public void Malformed_xml_is_not_well_formed(string xml) =>
        AssertViolation(StreamErrorCondition.NotWellFormed, Header + xml);

    [Theory]
    [InlineData("<message from='a@b/c' id='1'><foo:body/></message>")]
    [InlineData("<message from='a@b/c' id='1'><x xmlns:a='urn:x' xmlns:b='urn:x' a:id='1' b:id='2'/></message>")]
    [InlineData("<message from='a@b/c' id='1' xmlns:p=''/>")]
    [InlineData("<message from='a@b/c' id='1' p:x='y'><body/></message>")]
    [InlineData("<p:message from='a@b/c' id='1'/>")]
    public void Namespace_misuse_in_a_stanza_is_refused_and_the_stream_goes_on(string xml)
    {
        var handler = RecordingHandler.Parse(Header + xml + "<message id='next'/>");
        var refused = Assert.Single(handler.Refused);
        Assert.Equal(StanzaRefusal.BadNamespaces, refused.Refusal);
        Assert.Equal("a@b/c", refused.Stanza.Attribute("from")?.Value);
        Assert.Equal("next", Assert.Single(handler.Elements).Attribute("id")?.Value);
    }

    [Theory]
    [InlineData(new byte[] { 0xC3 })]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0x80 })]
    public void Invalid_utf8_is_not_well_formed(byte[] invalid)
    {
        var input = Encoding.UTF8.GetBytes(Header + "<message><body>x").Concat(invalid).Concat("</body></message>"u8.ToArray()).ToArray();
        AssertViolation(StreamErrorCondition.NotWellFormed, input);
    }

    [Fact]
    public void Text_before_the_header_is_not_well_formed() =>
        AssertViolation(StreamErrorCondition.NotWellFormed, "hello" + Header);

    [Fact]
    public void A_header_outside_the_stream_namespace_is_refused() =>
        AssertViolation(StreamErrorCondition.InvalidNamespace, "<stream xmlns='jabber:component:accept'>");

    [Fact]
    public void A_stanza_exactly_at_the_limit_passes_and_one_byte_more_is_refused()
    {
        var atLimit = StanzaOfSize(SmallLimit);
        Assert.Equal(2, RecordingHandler.Parse(Header + atLimit + atLimit, SmallLimit).Elements.Count);
        var overLimit = RecordingHandler.Parse(Header + StanzaOfSize(SmallLimit + 1) + atLimit, SmallLimit);
        Assert.Single(overLimit.Refused);
        Assert.Single(overLimit.Elements);
    }

    [Fact]
    public void The_limit_counts_bytes_not_characters()
    {
        var stanza = "<message><body>" + new string('é', 100) + "</body></message>";
        var bytes = Encoding.UTF8.GetByteCount(stanza);
        Assert.Single(RecordingHandler.Parse(Header + stanza, bytes).Elements);
        Assert.Single(RecordingHandler.Parse(Header + stanza, bytes - 1).Refused);
    }

    [Fact]
    public void The_parser_refuses_input_after_a_violation()
    {
        var parser = new XmppStreamParser(new RecordingHandler());
        Assert.Throws<XmppStreamException>(() => parser.Feed("<!-- x -->"u8));
        Assert.Throws<InvalidOperationException>(() => parser.Feed(" "u8));
    }

    [Fact]
    public void Namespaces_resolve_through_prefixes_defaults_and_undeclarations()
    {
        var handler = RecordingHandler.Parse(Header +
            "<message xmlns:m='http://jabber.org/protocol/muc#user'>" +
            "<m:x><m:item/><status xmlns='urn:other'><inner/><reset xmlns=''/></status></m:x>" +
            "<body>b</body>" +
            "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>f</body></message>" +
            "<message xmlns='jabber:component:accept'/></forwarded>" +
            "<stream:features/>" +
            "</message>");
        var message = handler.Elements.Single();
        Assert.Equal(Ns.Client + "message", message.Name);
        var x = message.Element(Ns.MucUser + "x")!;
        Assert.NotNull(x.Element(Ns.MucUser + "item"));
        var status = x.Element(XNamespace.Get("urn:other") + "status")!;
        Assert.NotNull(status.Element(XNamespace.Get("urn:other") + "inner"));
        Assert.NotNull(status.Element("reset"));
        Assert.Equal("b", message.Element(Ns.Client + "body")?.Value);
        var forwarded = message.Element(XNamespace.Get("urn:xmpp:forward:0") + "forwarded")!;
        Assert.Equal(2, forwarded.Elements(Ns.Client + "message").Count());
        Assert.NotNull(message.Element(Ns.Streams + "features"));
    }

    [Fact]
    public void A_client_stream_default_maps_to_jabber_client_too()
    {
        var handler = RecordingHandler.Parse(
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server'><message/>");
        Assert.Equal("jabber:server", handler.Header!.DefaultNamespace);
        Assert.Equal(Ns.Client + "message", handler.Elements.Single().Name);
    }

    [Fact]
    public void Other_stream_prefixes_work()
    {
        var handler = RecordingHandler.Parse(
            "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='1'>" +
            "<s:error/><message/></s:stream>");
        Assert.Equal([Ns.Streams + "error", Ns.Client + "message"], handler.Elements.Select(e => e.Name));
        Assert.True(handler.Ended);
    }

    [Fact]
    public void A_stream_without_namespaces_is_not_well_formed() =>
        AssertViolation(StreamErrorCondition.NotWellFormed, "<stream:stream>");

    internal static string StanzaOfSize(int bytes)
    {
        const string start = "<message><body>", end = "</body></message>";
        return start + new string('a', bytes - start.Length - end.Length) + end;
    }

    private static void AssertViolation(StreamErrorCondition condition, string xml, int maxStanzaBytes = XmppStreamParser.DefaultMaxStanzaBytes) =>
        AssertViolation(condition, Encoding.UTF8.GetBytes(xml), maxStanzaBytes);

    private static void AssertViolation(StreamErrorCondition condition, byte[] xml, int maxStanzaBytes = XmppStreamParser.DefaultMaxStanzaBytes)
    {
        var error = Assert.Throws<XmppStreamException>(() => RecordingHandler.Parse(xml, maxStanzaBytes));
        Assert.Equal(condition, error.Condition);
    }
}
