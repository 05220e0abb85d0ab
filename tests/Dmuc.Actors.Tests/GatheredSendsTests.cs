using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Actors.Tests;

public sealed class GatheredSendsTests
{
    [Fact]
    public async Task Sends_wait_for_one_flush_in_their_order_and_a_receipt_waits_for_them()
    {
        var sink = new RecordingSink();
        var flushesAsked = 0;
        var sends = new GatheredSends(sink, () => flushesAsked++);
        Delivery To(string jid, string body) => new(Jid.Parse(jid), new XElement(Ns.Client + "message", body));

        sends.Send([To("a@h/1", "one"), To("b@h/1", "two")]);
        sends.Send([]);
        sends.Send([To("a@h/1", "three")]);
        Assert.Equal(1, flushesAsked);
        Assert.Empty(sink.Sent);

        sends.Flush();
        sends.Flush();
        Assert.Equal(["a@h/1 one", "b@h/1 two", "a@h/1 three"], Assert.Single(sink.Sent).Select(d => $"{d.To} {d.Stanza.Value}"));

        sends.Send([To("b@h/1", "four")]);
        Assert.Equal(2, flushesAsked);
        Assert.True(await sends.AllWritten());
        Assert.Equal(2, sink.Sent.Count);
    }

    private sealed class RecordingSink : IStanzaSink
    {
        public List<IReadOnlyList<Delivery>> Sent { get; } = [];

        public void Send(IReadOnlyList<Delivery> deliveries) => Sent.Add(deliveries);
    }
}
