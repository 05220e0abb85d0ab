using System.Xml.Linq;
using Akka.Actor;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Security;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>
/// The own-host relay between two primary-capable nodes of one host (<see cref="OwnHostRelayWindow"/> sends,
/// <see cref="OwnHostRelayIntake"/> takes): nothing a room delivers to its host's users is lost when the node holding the
/// host's stream dies or the link to it breaks, and nothing is written twice by the node that holds it.
/// </summary>
public sealed class OwnHostRelayTests
{
    private static readonly Address Self = new("akka.tcp", "dmuc", "127.0.0.1", 1);
    private static readonly Address Holder = new("akka.tcp", "dmuc", "127.0.0.1", 2);
    private static readonly Address NextHolder = new("akka.tcp", "dmuc", "127.0.0.1", 3);

    private static IReadOnlyList<Delivery> Said(string body) =>
        [new Delivery(Jid.Parse("alice@avalon.irc/laptop"), new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", body)))];

    private static string BodyOf(Delivery delivery) => delivery.Stanza.Element(Ns.Client + "body")!.Value;

    [Fact]
    public void While_this_node_serves_its_host_deliveries_go_to_its_own_stream_and_nothing_is_held()
    {
        var window = new OwnHostRelayWindow("s");
        Assert.Empty(window.Look(Self, servingReachable: true, Self).ToNode);
        var sends = window.Relay(Said("one"));
        Assert.Equal("one", BodyOf(Assert.Single(sends.ToOutbox)));
        Assert.Empty(sends.ToNode);
        Assert.False(window.Relaying);
    }

    [Fact]
    public void Relays_to_the_holder_are_numbered_and_held_until_it_says_they_were_written()
    {
        var window = new OwnHostRelayWindow("s");
        window.Look(Holder, servingReachable: true, Self);
        var first = window.Relay(Said("one"));
        var second = window.Relay(Said("two"));
        Assert.Equal(Holder, first.Node);
        Assert.Empty(first.ToOutbox);
        Assert.Equal([1L, 2L], first.ToNode.Concat(second.ToNode).Select(relay => relay.Number));
        Assert.Equal(2, window.Held);

        window.Written(new RelayedDeliveriesWritten("another session", 2));
        Assert.Equal(2, window.Held);
        window.Written(new RelayedDeliveriesWritten("s", 1));
        Assert.Equal(1, window.Held);
        window.Written(new RelayedDeliveriesWritten("s", 2));
        Assert.Equal(0, window.Held);
        Assert.True(window.Relaying);
    }

    [Fact]
    public void What_a_dead_holder_did_not_confirm_goes_to_the_next_holder_in_order()
    {
        var window = new OwnHostRelayWindow("s");
        window.Look(Holder, servingReachable: true, Self);
        window.Relay(Said("one"));
        window.Relay(Said("two"));
        window.Written(new RelayedDeliveriesWritten("s", 1));
        Assert.Empty(window.Look(Holder, servingReachable: false, Self).ToNode);

        var resent = window.Look(NextHolder, servingReachable: true, Self);
        Assert.Equal(NextHolder, resent.Node);
        Assert.Equal(["two"], resent.ToNode.SelectMany(relay => relay.Deliveries).Select(BodyOf));
    }

    [Fact]
    public void When_this_node_takes_the_stream_over_what_is_held_goes_out_through_it_before_anything_new()
    {
        var window = new OwnHostRelayWindow("s");
        window.Look(Holder, servingReachable: true, Self);
        window.Relay(Said("one"));
        window.Relay(Said("two"));

        var takeover = window.Look(Self, servingReachable: true, Self);
        Assert.Equal(["one", "two"], takeover.ToOutbox.Select(BodyOf));
        Assert.False(window.Relaying);
        Assert.Equal(["three"], window.Relay(Said("three")).ToOutbox.Select(BodyOf));
    }

    [Fact]
    public void The_holder_reachable_again_after_a_split_gets_everything_held_again()
    {
        var window = new OwnHostRelayWindow("s");
        window.Look(Holder, servingReachable: true, Self);
        window.Relay(Said("one"));
        Assert.Empty(window.Look(Holder, servingReachable: true, Self).ToNode);
        window.Look(Holder, servingReachable: false, Self);
        window.Relay(Said("two"));

        var healed = window.Look(Holder, servingReachable: true, Self);
        Assert.Equal([1L, 2L], healed.ToNode.Select(relay => relay.Number));
    }

    [Fact]
    public void Beyond_the_bound_the_oldest_relays_are_dropped_and_counted()
    {
        var window = new OwnHostRelayWindow("s", maxHeldDeliveries: 2);
        window.Look(Holder, servingReachable: false, Self);
        Assert.Equal(0, window.Relay(Said("one")).Dropped);
        Assert.Equal(0, window.Relay(Said("two")).Dropped);
        Assert.Equal(1, window.Relay(Said("three")).Dropped);
        Assert.Equal(["two", "three"], window.Look(NextHolder, servingReachable: true, Self).ToNode.SelectMany(relay => relay.Deliveries).Select(BodyOf));
    }

    [Fact]
    public void The_holder_writes_each_relay_once_and_confirms_once_its_stream_wrote_it()
    {
        var intake = new OwnHostRelayIntake();
        var one = new RelayedDeliveries("s", 1, Said("one"));
        var two = new RelayedDeliveries("s", 2, Said("two"));

        Assert.Equal(new OwnHostRelayIntake.Intake(true, 1), intake.Take(one, thisNodeServes: true));
        // One check at a time: the second relay waits for the first check's answer.
        Assert.Equal(new OwnHostRelayIntake.Intake(true, null), intake.Take(two, thisNodeServes: true));
        var (confirm, again) = intake.Checked("s", 1, written: true);
        Assert.Equal(new RelayedDeliveriesWritten("s", 1), confirm);
        Assert.Equal(2, again);

        // The stream went away before it wrote the second: no confirmation, check again.
        Assert.Equal((null, 2L), intake.Checked("s", 2, written: false));
        // Sent again (the sender saw the link come back): not written twice, confirmed once the stream wrote it.
        Assert.Equal(new OwnHostRelayIntake.Intake(false, null), intake.Take(two, thisNodeServes: true));
        Assert.Equal((new RelayedDeliveriesWritten("s", 2), (long?)null), intake.Checked("s", 2, written: true));
        Assert.Equal(new OwnHostRelayIntake.Intake(false, null, new RelayedDeliveriesWritten("s", 2)), intake.Take(one, thisNodeServes: true));
    }

    [Fact]
    public void A_node_that_does_not_serve_its_host_takes_no_relay_so_its_sender_keeps_it_for_the_one_that_does()
    {
        var intake = new OwnHostRelayIntake();
        Assert.Equal(new OwnHostRelayIntake.Intake(false, null), intake.Take(new RelayedDeliveries("s", 1, Said("one")), thisNodeServes: false));
        Assert.Equal(new OwnHostRelayIntake.Intake(true, 1), intake.Take(new RelayedDeliveries("s", 1, Said("one")), thisNodeServes: true));
    }

    [Fact]
    public void A_node_whose_rooms_relay_refuses_nothing_under_load_since_its_refusal_would_wait_in_its_streamless_outbox()
    {
        const int budget = 1_000;
        var outbox = new ComponentOutbox(NullLogger<ComponentOutbox>.Instance, maxQueuedBytes: budget);
        var hosts = new ClusterHosts("avalon.irc");
        hosts.Update([new TrustedNode(Holder, "avalon.irc", IsPrimary: true), new TrustedNode(Self, "avalon.irc", IsPrimary: true)]);
        var sink = new OwnHostSink(outbox, hosts);
        sink.Attach(ActorRefs.Nobody, Self);

        // Its rooms see no server behind, so they refuse nothing (RoomLoadShedding).
        Assert.False(sink.ServerBehind(decidedNotSentBytes: budget + 1));
    }
}
