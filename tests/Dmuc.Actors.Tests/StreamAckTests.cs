using System.Xml.Linq;
using Akka.Actor;
using Dmuc.Actors.Component;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Actors.Tests;

/// <summary>The node's bookkeeping of acknowledged stanzas on its component stream (docs/protocol/stream-ack.md).</summary>
public sealed class StreamAckTests
{
    private const string Component = "conference.example.org";
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Only_the_prefix_whose_outcomes_are_all_durable_is_acknowledged_and_each_count_once()
    {
        var window = new StreamAckWindow(Start, SettleTimeout);
        Assert.Null(window.AckDue());

        window.Settle(2, Start);
        window.Settle(3, Start);
        Assert.Null(window.AckDue()); // 1 is still being written: 2 and 3 wait for it

        window.Settle(1, Start);
        Assert.Equal(3, window.AckDue());
        Assert.Null(window.AckDue());

        window.Settle(3, Start); // settled twice (a room answered twice): counted once
        window.Settle(5, Start);
        window.Settle(4, Start);
        Assert.Equal(5, window.AckDue());
    }

    [Fact]
    public void A_gap_that_outlives_the_timeout_while_later_stanzas_settle_is_passed_over_and_nothing_else()
    {
        var window = new StreamAckWindow(Start, SettleTimeout);
        window.Settle(1, Start);
        window.Settle(4, Start.AddSeconds(10));
        window.Settle(5, Start.AddSeconds(11));

        Assert.Null(window.PassOverdueGap(Start.AddSeconds(39)));
        Assert.Equal(1, window.AckDue());

        Assert.Equal((2L, 3L), window.PassOverdueGap(Start.AddSeconds(40)));
        Assert.Equal(5, window.AckDue());
        // Nothing settled beyond: nothing to pass over, however long it stays quiet.
        Assert.Null(window.PassOverdueGap(Start.AddHours(1)));
    }

    [Fact]
    public void Numbering_starts_with_the_servers_answer_and_marks_the_resent_stanzas()
    {
        var numbering = new StreamNumbering(ActorRefs.Nobody, connection: 7);
        Assert.Null(numbering.Next()); // before the answer the server counts nothing either

        numbering.Start(resent: 2);
        var receipts = Enumerable.Range(0, 3).Select(_ => numbering.Next()!).ToList();

        Assert.Equal([(7L, 1L, true), (7L, 2L, true), (7L, 3L, false)], receipts.Select(r => (r.Connection, r.Number, r.Resent)));
    }

    /// <summary>The server's mark that the node's previous stream served a stanza counts on a resent one only, and never reaches the room.</summary>
    [Fact]
    public void A_served_mark_is_taken_off_every_stanza_and_counts_only_on_one_handed_again()
    {
        var numbering = new StreamNumbering(ActorRefs.Nobody, connection: 7);
        numbering.Start(resent: 2);
        XElement Marked(string id) => new(Ns.Client + "message", new XAttribute("id", id), StreamAckProtocol.Served(1));
        var stanzas = new[] { Marked("resent, served"), new XElement(Ns.Client + "message", new XAttribute("id", "resent")), Marked("a user's own mark") };

        var receipts = stanzas.Select(stanza => numbering.Next(stanza)!).ToList();

        Assert.Equal([(true, true), (true, false), (false, false)], receipts.Select(r => (r.Resent, r.ServedBefore)));
        Assert.All(stanzas, stanza => Assert.Empty(stanza.Elements(StreamAckProtocol.Ns + "served")));
    }

    [Fact]
    public void The_servers_answer_says_how_many_it_resends_and_its_absence_turns_acknowledgements_off()
    {
        var enable = StreamAckProtocol.Enable(Component);
        Assert.Equal(("set", Component, Component), ((string?)enable.Attribute("type"), (string?)enable.Attribute("from"), (string?)enable.Attribute("to")));

        var enabled = Reply(enable, "result", new XElement(StreamAckProtocol.Ns + "enabled", new XAttribute("resent", "4")));
        Assert.True(StreamAckProtocol.IsNegotiation(enabled, Component));
        Assert.Equal(4, StreamAckProtocol.ResentAfter(enabled));

        // A server without the module hands the request to its addressee, this component; ejabberd may answer with an error.
        var cameBack = new XElement(enable);
        Assert.True(StreamAckProtocol.IsNegotiation(cameBack, Component));
        Assert.Null(StreamAckProtocol.ResentAfter(cameBack));
        var refused = Reply(enable, "error", new XElement(Ns.Client + "error"));
        Assert.True(StreamAckProtocol.IsNegotiation(refused, Component));
        Assert.Null(StreamAckProtocol.ResentAfter(refused));

        // A user's stanza with the same id is a user's stanza.
        var fromUser = new XElement(enable);
        fromUser.SetAttributeValue("from", "mallory@example.org/x");
        Assert.False(StreamAckProtocol.IsNegotiation(fromUser, Component));
        var ack = StreamAckProtocol.Ack(12);
        Assert.Equal((StreamAckProtocol.Ns + "a", "12"), (ack.Name, (string?)ack.Attribute("h")));
    }

    private static XElement Reply(XElement request, string type, XElement child) => new(Ns.Client + "iq",
        new XAttribute("type", type), new XAttribute("id", (string)request.Attribute("id")!),
        new XAttribute("from", (string)request.Attribute("to")!), new XAttribute("to", (string)request.Attribute("from")!), child);

    [Fact]
    public void A_resent_stanza_is_dated_by_the_servers_delay_from_the_component_domain_which_is_taken_off_and_no_other()
    {
        var resent = XElement.Parse($"""
            <message xmlns='jabber:client' from='juliet@example.org/balcony' to='verona@{Component}' type='groupchat' id='j1'>
              <body>Romeo?</body>
              <delay xmlns='urn:xmpp:delay' from='juliet@example.org/balcony' stamp='2026-12-05T08:00:00Z'/>
              <delay xmlns='urn:xmpp:delay' from='{Component}' stamp='2026-12-05T09:59:58Z'/>
            </message>
            """);

        var (stanza, handedAt) = StreamAckProtocol.FirstHanded(resent, Component);

        Assert.Equal(Start - TimeSpan.FromSeconds(2), handedAt);
        var delays = stanza.Elements(Ns.Delay + "delay").ToList();
        Assert.Equal("juliet@example.org/balcony", (string?)Assert.Single(delays).Attribute("from"));
        Assert.Equal(2, resent.Elements(Ns.Delay + "delay").Count()); // the stanza handed in is left as it was
        Assert.Equal((stanza, (DateTimeOffset?)null), StreamAckProtocol.FirstHanded(stanza, "elsewhere.example.org"));
    }
}
