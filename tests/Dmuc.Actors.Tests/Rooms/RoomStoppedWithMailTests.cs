using Akka.Actor;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>
/// A room whose journal fails stops with stanzas still in its mailbox (docs/benchmarks.md, the circuit breaker finding).
/// Each of those senders hears that the stanza was not taken, rather than nothing.
/// </summary>
public sealed class RoomStoppedWithMailTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    [Fact]
    public async Task Stanzas_left_in_a_room_that_stopped_unexpectedly_are_answered_with_an_error_to_try_again()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        var room = await node.System.ActorSelection(node.Directory.Path / Uri.EscapeDataString(Room)).ResolveOne(TimeSpan.FromSeconds(5));

        // The stop stands in for a failed write: both leave the mail behind the stop undelivered.
        room.Tell(PoisonPill.Instance);
        room.Tell(new RouteStanza(Say(Owner, "lost with the room?", id: "behind-the-stop")));

        var error = await node.Sink.WaitForAsync(Owner, stanza => stanza.IsError("internal-server-error"));
        Assert.Equal("behind-the-stop", error.Attribute("id")?.Value);
        Assert.Equal("wait", error.Element(Dmuc.Xmpp.Ns.Client + "error")?.Attribute("type")?.Value);
        Assert.DoesNotContain(node.Sink.All, delivery => delivery.Stanza.IsGroupchatWithBody("lost with the room?"));
    }
}
