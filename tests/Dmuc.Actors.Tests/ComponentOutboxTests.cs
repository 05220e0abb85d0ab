using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Dmuc.Actors.Tests;

public sealed class ComponentOutboxTests
{
    [Fact]
    public void While_the_stream_is_down_the_queue_keeps_the_newest_stanzas_within_its_byte_budget()
    {
        const int budget = 10_000;
        var outbox = new ComponentOutbox(NullLogger<ComponentOutbox>.Instance, maxQueuedBytes: budget);
        var message = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('a', 1_000)));
        var stanzaBytes = RenderedStanza.Render(message).GetByteCount("u@s/r");

        for (var i = 0; i < 50; i++)
        {
            outbox.Send([new Delivery(Jid.Parse("u@s/r"), message)]);
            Assert.InRange(outbox.QueuedBytes, 0, budget);
        }
        Assert.Equal(budget / stanzaBytes * stanzaBytes, outbox.QueuedBytes);
    }
}
