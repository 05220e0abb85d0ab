using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class RefusedStanzaReplyTests
{
    private static RefusedStanza Refused(string stanza, StanzaRefusal refusal = StanzaRefusal.TooLarge) =>
        new(XElement.Parse(stanza.Replace("<message", "<message xmlns='jabber:client'")), refusal, "stanza larger than 64 bytes");

    [Fact]
    public void The_sender_is_told_which_limit_with_the_stanza_id()
    {
        var reply = StanzaError.ReplyToRefused(Refused("<message from='u@s/r' to='room@muc' id='m1' type='groupchat'/>"))!;
        Assert.Equal(Ns.Client + "message", reply.Name);
        Assert.Equal(["error", "m1", "room@muc", "u@s/r"], new[] { "type", "id", "from", "to" }.Select(name => reply.Attribute(name)?.Value));
        var error = reply.Element(Ns.Client + "error")!;
        Assert.Equal("modify", error.Attribute("type")?.Value);
        Assert.NotNull(error.Element(Ns.Stanzas + "policy-violation"));
        Assert.Equal("stanza larger than 64 bytes", error.Element(Ns.Stanzas + "text")?.Value);
    }

    [Fact]
    public void Misused_namespaces_are_a_bad_request() =>
        Assert.NotNull(StanzaError.ReplyToRefused(Refused("<message from='u@s/r' id='m1'/>", StanzaRefusal.BadNamespaces))!
            .Element(Ns.Client + "error")!.Element(Ns.Stanzas + "bad-request"));

    [Theory]
    [InlineData("<message from='u@s/r' id='m1' type='error'/>")]
    [InlineData("<message id='m1'/>")]
    public void Errors_and_stanzas_without_a_sender_get_no_reply(string stanza) =>
        Assert.Null(StanzaError.ReplyToRefused(Refused(stanza)));
}
