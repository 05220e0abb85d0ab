using System.Xml.Linq;
using CsCheck;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

public sealed class ReplicationPlannerTests
{
    private const string RemoteHost = "vesa.yeggmaex.irc";
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly Jid BigCheese = Jid.Parse("rubenro@vesa.yeggmaex.irc/shaver");
    private static readonly Jid Efchen = Jid.Parse("msa@vesa.yeggmaex.irc/bicycle");
    private static readonly Jid Zaphod = Jid.Parse("zaphod@vesa.yeggmaex.irc/towel");
    private static readonly Jid Trillian = Jid.Parse("trillian@avalon.irc/terminal");

    /// <summary>The room's sessions: the three vesa users and one of the primary's own host.</summary>
    private static readonly Dictionary<Jid, string> Sessions = new()
    {
        [BigCheese] = "BigCheese", [Efchen] = "Efchen", [Zaphod] = "Zaphod", [Trillian] = "Trillian",
    };

    [Fact]
    public void A_broadcast_reaching_every_occupant_of_a_host_is_one_item_without_recipients()
    {
        var message = Stanza("<message from='wallops@channel.avalon.irc/Trillian' type='groupchat'><body>hi</body></message>");

        var plan = Split([To(Trillian, message), To(BigCheese, message), To(Efchen, message), To(Zaphod, message)]);

        Assert.Equal([To(Trillian, message)], plan.Local);
        var item = Assert.Single(plan.ByHost[RemoteHost]);
        Assert.Same(message, item.Stanza);
        Assert.True(item is { Recipients: null, Except: null });
    }

    [Fact]
    public void A_stanza_for_a_few_of_a_hosts_occupants_names_them()
    {
        var presence = Stanza("<presence from='wallops@channel.avalon.irc/Trillian'/>");

        var item = Assert.Single(Split([To(BigCheese, presence)]).ByHost[RemoteHost]);

        Assert.Equal([BigCheese], item.Recipients);
        Assert.Null(item.Except);
    }

    [Fact]
    public void A_stanza_for_all_but_a_few_of_a_hosts_occupants_names_those_left_out()
    {
        var presence = Stanza("<presence from='wallops@channel.avalon.irc/Zaphod'/>");

        var item = Assert.Single(Split([To(BigCheese, presence), To(Efchen, presence)]).ByHost[RemoteHost]);

        Assert.Null(item.Recipients);
        Assert.Equal([Zaphod], item.Except);
    }

    [Fact]
    public void A_stanza_for_someone_who_is_not_an_occupant_names_its_recipients_even_when_it_reaches_every_occupant_too()
    {
        var message = Stanza("<message from='wallops@channel.avalon.irc' type='groupchat'><body>for all and a stranger</body></message>");
        var stranger = Jid.Parse("ford@vesa.yeggmaex.irc/satchel");

        var plan = Split([To(BigCheese, message), To(Efchen, message), To(Zaphod, message), To(stranger, message)]);

        Assert.Equal([BigCheese, Efchen, Zaphod, stranger], Assert.Single(plan.ByHost[RemoteHost]).Recipients);
    }

    [Fact]
    public void A_stanza_to_an_occupants_bare_jid_is_not_taken_for_a_broadcast()
    {
        var only = new Dictionary<Jid, string> { [BigCheese] = "BigCheese" };
        var vcard = Stanza("<iq from='wallops@channel.avalon.irc/Trillian' type='get' id='v'><vCard xmlns='vcard-temp'/></iq>");

        var plan = ReplicationPlanner.Split([To(BigCheese.Bare, vcard)], IsRemote, Room, only, only, null, null);

        Assert.Equal([BigCheese.Bare], Assert.Single(plan.ByHost[RemoteHost]).Recipients);
    }

    [Fact]
    public void Interleaved_stanzas_that_everyone_receives_in_the_same_order_stay_one_item_each()
    {
        var first = Stanza("<message from='wallops@channel.avalon.irc/A' type='groupchat'><body>1</body></message>");
        var second = Stanza("<message from='wallops@channel.avalon.irc/B' type='groupchat'><body>2</body></message>");

        var plan = Split([
            To(BigCheese, first), To(BigCheese, second),
            To(Efchen, first), To(Efchen, second),
            To(Zaphod, first), To(Zaphod, second),
        ]);

        var items = plan.ByHost[RemoteHost];
        Assert.Equal([first, second], items.Select(item => item.Stanza));
        Assert.All(items, item => Assert.True(item is { Recipients: null, Except: null }));
    }

    [Fact]
    public void A_recipient_who_gets_two_stanzas_in_the_other_order_gets_a_second_item_rather_than_a_reordering()
    {
        var first = Stanza("<message from='wallops@channel.avalon.irc/A' type='chat'><body>1</body></message>");
        var second = Stanza("<message from='wallops@channel.avalon.irc/B' type='chat'><body>2</body></message>");
        Delivery[] deliveries = [To(BigCheese, first), To(BigCheese, second), To(Efchen, second), To(Efchen, first)];

        var plan = Split(deliveries);

        var received = Replay(plan.ByHost[RemoteHost], [BigCheese, Efchen, Zaphod]);
        Assert.Equal([first, second], received[BigCheese]);
        Assert.Equal([second, first], received[Efchen]);
        Assert.Empty(received[Zaphod]);
    }

    [Fact]
    public void Every_recipient_gets_its_stanzas_in_order_and_a_stanza_is_split_only_when_order_requires_it()
    {
        Jid[] users = [BigCheese, Efchen, Zaphod];
        var sessions = users.ToDictionary(user => user, user => user.Resource!);
        var stanzas = Enumerable.Range(0, 4)
            .Select(i => Stanza($"<message from='wallops@channel.avalon.irc/N{i}' type='groupchat'><body>{i}</body></message>")).ToArray();
        var genDeliveries = Gen.Select(Gen.Int[0, users.Length - 1], Gen.Int[0, stanzas.Length - 1],
            (user, stanza) => new Delivery(users[user], stanzas[stanza])).List[0, 20];

        genDeliveries.Sample(deliveries =>
        {
            var plan = ReplicationPlanner.Split(deliveries, IsRemote, Room, sessions, sessions, null, null);
            var items = plan.ByHost.GetValueOrDefault(RemoteHost) ?? [];
            var expected = users.ToDictionary(user => user, user => deliveries.Where(d => d.To == user).Select(d => d.Stanza).ToList());
            Assert.Equal(expected, Replay(items, users));
            // Each item starts only because some recipient already had a later item: never more items than deliveries.
            Assert.True(items.Count <= deliveries.Count);
            // A stanza instance delivered to everyone at once, before anything else, stays one item for all.
            if (deliveries.Count == users.Length && deliveries.All(d => d.Stanza == deliveries[0].Stanza) && deliveries.DistinctBy(d => d.To).Count() == users.Length)
                Assert.True(Assert.Single(items) is { Recipients: null, Except: null });
        }, iter: 300);
    }

    [Fact]
    public void An_entering_occupant_is_marked_on_its_own_presence_with_the_history_it_asked_for()
    {
        var before = Sessions.Where(s => s.Key != BigCheese).ToDictionary();
        var join = Parse("<presence from='rubenro@vesa.yeggmaex.irc/shaver' to='wallops@channel.avalon.irc/BigCheese'>" +
                         "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='20'/></x></presence>");
        var roster = Stanza("<presence from='wallops@channel.avalon.irc/Efchen'/>");
        var toOthers = Stanza("<presence from='wallops@channel.avalon.irc/BigCheese'/>");
        var self = Stanza("<presence from='wallops@channel.avalon.irc/BigCheese'><status code='110'/></presence>");

        var plan = ReplicationPlanner.Split(
            [To(BigCheese, roster), To(Efchen, toOthers), To(Zaphod, toOthers), To(BigCheese, self)],
            IsRemote, Room, before, Sessions, join, null);

        var items = plan.ByHost[RemoteHost];
        Assert.Equal([null, null, BigCheese], items.Select(item => item.Enter?.Occupant));
        Assert.Same(self, items[2].Stanza);
        Assert.Equal("20", items[2].Enter!.History?.Attribute("maxstanzas")?.Value);
    }

    [Fact]
    public void An_entry_nothing_is_delivered_for_still_reaches_the_replica_as_a_presence_for_nobody()
    {
        var before = Sessions.Where(s => s.Key != BigCheese).ToDictionary();

        var plan = ReplicationPlanner.Split([], IsRemote, Room, before, Sessions, null, null);

        var item = Assert.Single(plan.ByHost[RemoteHost]);
        Assert.Equal(BigCheese, item.Enter?.Occupant);
        Assert.Empty(item.Recipients!);
        Assert.Equal("wallops@channel.avalon.irc/BigCheese", item.Stanza.Attribute("from")?.Value);
    }

    [Fact]
    public void A_departing_occupant_is_marked_on_its_own_unavailable_presence_and_still_counts_as_an_occupant_of_that_batch()
    {
        var after = Sessions.Where(s => s.Key != Zaphod).ToDictionary();
        var toOthers = Stanza("<presence from='wallops@channel.avalon.irc/Zaphod' type='unavailable'/>");
        var self = Stanza("<presence from='wallops@channel.avalon.irc/Zaphod' type='unavailable'><status code='110'/></presence>");

        var plan = ReplicationPlanner.Split(
            [To(Trillian, toOthers), To(BigCheese, toOthers), To(Efchen, toOthers), To(Zaphod, self)],
            IsRemote, Room, Sessions, after, null, null);

        var items = plan.ByHost[RemoteHost];
        // Zaphod is still an occupant of this batch (departures apply last), so the others are "all but Zaphod".
        Assert.Equal([Zaphod], items[0].Except);
        Assert.Null(items[0].Leave);
        Assert.Equal(Zaphod, items[1].Leave);
        Assert.Equal([Zaphod], items[1].Recipients);
    }

    [Fact]
    public void Only_groupchat_messages_with_a_body_carry_the_time_the_primary_accepted_them()
    {
        var acceptedAt = new DateTimeOffset(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);
        var message = Stanza("<message from='wallops@channel.avalon.irc/BigCheese' type='groupchat'><body>rotten</body></message>");
        var subject = Stanza("<message from='wallops@channel.avalon.irc/BigCheese' type='groupchat'><subject>war</subject></message>");

        var plan = Split([To(BigCheese, message), To(Efchen, message), To(Zaphod, message), To(BigCheese, subject)], acceptedAt);

        Assert.Equal([acceptedAt, null], plan.ByHost[RemoteHost].Select(item => item.Delay));
    }

    [Fact]
    public void Nothing_goes_to_a_replica_host_when_nothing_happened_there()
    {
        var presence = Stanza("<presence from='wallops@channel.avalon.irc/BigCheese'/>");

        var plan = Split([To(Trillian, presence)]);

        Assert.Empty(plan.ByHost);
        Assert.Single(plan.Local);
    }

    private static bool IsRemote(string host) => host == RemoteHost;

    private static ReplicationPlanner.Plan Split(IReadOnlyList<Delivery> deliveries, DateTimeOffset? acceptedAt = null) =>
        ReplicationPlanner.Split(deliveries, IsRemote, Room, Sessions, Sessions, null, acceptedAt);

    private static Delivery To(Jid recipient, XElement stanza) => new(recipient, stanza);

    private static XElement Stanza(string xml) => Parse(xml);

    /// <summary>What each occupant receives when a replica delivers the items in order (no list: every occupant but the excepted).</summary>
    private static Dictionary<Jid, List<XElement>> Replay(IEnumerable<ReplicaItem> items, IReadOnlyList<Jid> occupants)
    {
        var received = occupants.ToDictionary(occupant => occupant, _ => new List<XElement>());
        foreach (var item in items)
        foreach (var recipient in item.Recipients ?? occupants.Except(item.Except ?? []))
            received[recipient].Add(item.Stanza);
        return received;
    }
}
