using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public sealed class LoadSheddingTests
{
    [Theory]
    [InlineData("<message xmlns='jabber:client' from='u@h/r' to='room@muc.h' type='groupchat' id='m1'><body>hi</body></message>")]
    [InlineData("<presence xmlns='jabber:client' from='u@h/r' to='room@muc.h/nick' id='p1'><x xmlns='http://jabber.org/protocol/muc'/></presence>")]
    [InlineData("<iq xmlns='jabber:client' from='u@h/r' to='room@muc.h' type='get' id='q1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")]
    public void New_work_is_refused_to_its_sender_with_wait_resource_constraint(string xml)
    {
        var stanza = XElement.Parse(xml);

        var refusal = LoadShedding.RefusalOf(stanza);

        Assert.NotNull(refusal);
        Assert.Equal([stanza.Name.LocalName, "error", stanza.Attribute("id")!.Value, "u@h/r", stanza.Attribute("to")!.Value],
            [refusal.Name.LocalName, refusal.Attribute("type")!.Value, refusal.Attribute("id")!.Value, refusal.Attribute("to")!.Value,
                refusal.Attribute("from")!.Value]);
        var error = refusal.Element(Ns.Client + "error")!;
        Assert.Equal("wait", error.Attribute("type")!.Value);
        Assert.NotNull(error.Element(Ns.Stanzas + "resource-constraint"));
    }

    [Theory]
    [InlineData("<presence xmlns='jabber:client' from='u@h/r' to='room@muc.h/nick' type='unavailable'/>")]
    [InlineData("<message xmlns='jabber:client' from='u@h/r' to='room@muc.h/nick' type='error'/>")]
    [InlineData("<iq xmlns='jabber:client' from='u@h/r' to='room@muc.h' type='result' id='ping'/>")]
    [InlineData("<iq xmlns='jabber:client' from='u@h/r' to='room@muc.h' type='error' id='ping'/>")]
    [InlineData("<message xmlns='jabber:client' to='room@muc.h' type='groupchat'><body>no one to tell</body></message>")]
    public void Leaving_answers_and_errors_are_taken_even_under_load(string xml) =>
        Assert.Null(LoadShedding.RefusalOf(XElement.Parse(xml)));
}
