using System.Xml.Linq;
using Akka.Actor;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// <see cref="NamingHold"/>, the replica directory's hold of what its server hands it until the cluster names the node for its host
/// (docs/protocol/stream-ack.md §8): driven with its commands, as the directory drives it, with the directory's own timings.
/// </summary>
public sealed class NamingHoldTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 16, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan NamedEverywhereAfter = ReplicaDirectory.NamedEverywhereAfter;
    private static readonly TimeSpan LongestWait = ReplicaDirectory.NamingWait;
    private readonly NamingHold _hold = new(NamedEverywhereAfter, LongestWait);

    [Fact]
    public void A_node_already_named_passes_each_stanza_on_at_once_and_holds_nothing()
    {
        var route = Stanza("at once");

        var outcome = Arrive(route, named: true, Start);

        Assert.Equal([route], outcome.ToRoute);
        Assert.Equal(NamingLook.Keep, outcome.Looking);
        Assert.Equal(0, _hold.Count);
    }

    [Fact]
    public void What_arrives_before_the_naming_waits_in_order_until_the_node_has_been_named_long_enough_then_goes_on()
    {
        var (first, second, third) = (Stanza("first"), Stanza("second"), Stanza("third"));
        Assert.Equal(NamingLook.Start, Arrive(first, named: false, Start).Looking);
        Assert.Empty(Look(named: true, Start.AddSeconds(1)).ToRoute);
        // Named now, but what waits goes first: this one waits behind it.
        var behind = Arrive(second, named: true, Start.AddSeconds(1.5));
        Assert.Empty(behind.ToRoute);
        Assert.Equal(NamingLook.Keep, behind.Looking);
        Arrive(third, named: true, Start.AddSeconds(2));
        Assert.Empty(Look(named: true, Start.AddSeconds(2.9)).ToRoute);

        var released = Look(named: true, Start.AddSeconds(3));

        Assert.Equal([first, second, third], released.ToRoute);
        Assert.Equal(NamingLook.Stop, released.Looking);
        Assert.Equal(0, _hold.Count);
        var next = Stanza("next");
        Assert.Equal([next], Arrive(next, named: true, Start.AddSeconds(3.1)).ToRoute);
    }

    [Fact]
    public void A_naming_lost_before_it_lasted_long_enough_starts_the_count_again()
    {
        var waiting = Stanza("waiting");
        Arrive(waiting, named: false, Start);
        Look(named: true, Start.AddSeconds(1));
        Look(named: false, Start.AddSeconds(2));
        Look(named: true, Start.AddSeconds(2.5));

        Assert.Empty(Look(named: true, Start.AddSeconds(4)).ToRoute);
        Assert.Equal([waiting], Look(named: true, Start.AddSeconds(4.5)).ToRoute);
    }

    [Fact]
    public void What_waited_too_long_is_refused_oldest_first_and_the_rest_waits_on()
    {
        var (oldest, older, newer) = (Stanza("oldest"), Stanza("older"), Stanza("newer"));
        Arrive(oldest, named: false, Start);
        Arrive(older, named: false, Start.AddSeconds(1));
        Arrive(newer, named: false, Start.AddSeconds(10));

        var refused = Look(named: false, Start + LongestWait + TimeSpan.FromSeconds(1));

        Assert.Equal([oldest, older], refused.Refused);
        Assert.Empty(refused.ToRoute);
        Assert.Equal(NamingLook.Keep, refused.Looking);
        var last = Look(named: false, Start.AddSeconds(10) + LongestWait);
        Assert.Equal([newer], last.Refused);
        Assert.Equal(NamingLook.Stop, last.Looking);
        Assert.Equal(0, _hold.Count);
    }

    [Fact]
    public void What_the_server_handed_again_is_never_refused_for_the_wait_and_goes_on_once_named_while_newer_stanzas_are_refused()
    {
        // The node's previous life may have echoed it (chaos seed 2026: an error 40 s after the echo, for twelve messages).
        var handedAgain = Stanza("served by the last life") with { Receipt = new StreamReceipt(ActorRefs.Nobody, Connection: 2, Number: 1, Resent: true) };
        var newer = Stanza("said meanwhile");
        Arrive(handedAgain, named: false, Start);
        Arrive(newer, named: false, Start.AddSeconds(1));

        var longAfter = Look(named: false, Start + LongestWait + TimeSpan.FromSeconds(5));

        Assert.Equal([newer], longAfter.Refused);
        Assert.Equal(NamingLook.Keep, longAfter.Looking);
        Assert.Empty(Look(named: false, Start + 10 * LongestWait).Refused);
        Look(named: true, Start + 10 * LongestWait);
        Assert.Equal([handedAgain], Look(named: true, Start + 10 * LongestWait + NamedEverywhereAfter).ToRoute);
        Assert.Equal(0, _hold.Count);
    }

    /// <summary>The directory keeps the primary's word for a room behind that room's waiting stanzas, and only that room's.</summary>
    [Fact]
    public void It_says_which_rooms_it_holds_stanzas_for_until_they_go_on()
    {
        var wallops = Jid.Parse("wallops@channel.avalon.irc");
        Arrive(Stanza("handed again"), named: false, Start);

        Assert.True(_hold.HoldsFor(wallops));
        Assert.False(_hold.HoldsFor(Jid.Parse("other@channel.avalon.irc")));
        Look(named: true, Start.AddSeconds(1));
        Look(named: true, Start.AddSeconds(1) + NamedEverywhereAfter);
        Assert.False(_hold.HoldsFor(wallops));
    }

    [Fact]
    public void Deciding_changes_nothing_until_applied()
    {
        var waiting = Stanza("waiting");
        Arrive(waiting, named: false, Start);

        _hold.Process(new NamingLooked(Named: true, Start.AddSeconds(1)));
        _hold.Process(new StanzaFromOwnServer(Stanza("decided only"), Named: false, Start.AddSeconds(1)));

        Assert.Equal(1, _hold.Count);
        // Not applied, the first look at a naming did not start its count.
        Assert.Empty(Look(named: true, Start.AddSeconds(2.5)).ToRoute);
    }

    private NamingOutcome Arrive(RouteStanza route, bool named, DateTimeOffset now) => _hold.Apply(_hold.Process(new StanzaFromOwnServer(route, named, now)));

    private NamingOutcome Look(bool named, DateTimeOffset now) => _hold.Apply(_hold.Process(new NamingLooked(named, now)));

    private static RouteStanza Stanza(string id) => new(new XElement(Ns.Client + "message", new XAttribute("id", id),
        new XAttribute("from", "argl@killrc.oulubox.irc/laptop"), new XAttribute("to", "wallops@channel.avalon.irc"), new XAttribute("type", "groupchat")));
}
