using System.Xml.Linq;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// Golden tests against the listings of XEP-0282 (v0.1.1), played as <see cref="WallopsScenario"/>. The expected
/// XML follows the XEP's text; each test says where our wire form differs and why. Ids and stamps are '*'.
/// Stanzas to replicas are taken from the batches the replica nodes received (after the real serializer),
/// rendered with <see cref="Dmuc.Actors.Replication.DmucCodec.ItemToXml"/>; deliveries carry the <c>to</c> of the user.
/// </summary>
public sealed class XepListingTests(WallopsScenario scenario) : IClassFixture<WallopsScenario>
{
    private static readonly XNamespace Dmuc = Ns.Dmuc;

    /// <summary>
    /// Listing 1, initial room roster, sent when the replica's first occupant (Efchen) enters. Efchen is then its
    /// only local occupant, so the roster travels without recipients, as in the XEP. Differences: Troy's item says
    /// affiliation='none' (the XEP's 'participant' is not an affiliation; §3.1 makes him a moderator by role);
    /// the roster comes in nick order (compared in any order); it shares its batch with Efchen's entry, history and subject.
    /// </summary>
    [Fact]
    public void Listing_1_the_primary_sends_the_room_roster_to_a_new_replica() =>
        XmlAssert.MatchesInAnyOrder("""
            <presence from='wallops@channel.avalon.irc/Wumpus' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='owner' role='moderator' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Valdis' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Phaedrus' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/WiZ' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='admin' role='moderator' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Troy' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='moderator' />
              </x>
            </presence>
            """, scenario.EfchenEnters.WireTo(Vesa).Take(5));

    /// <summary>
    /// Listing 2: the enter marker, with the entering user's history request, rides on the user's own presence
    /// (status 110, real JID): the XEP leaves that presence's content open ('...'). With Efchen already on vesa,
    /// it names its one recipient (our &lt;to/&gt;).
    /// </summary>
    [Fact]
    public void Listing_2_the_primary_informs_the_replica_of_a_new_occupant_and_its_history_request() =>
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' jid='rubenro@vesa.yeggmaex.irc/shaver' />
                <status code='110' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <enter jid='rubenro@vesa.yeggmaex.irc/shaver' />
                <history maxstanzas='20' />
                <to jid='rubenro@vesa.yeggmaex.irc/shaver' />
              </x>
            </presence>
            """, Marked(scenario.BigCheeseEntersWithHistoryRequest.WireTo(Vesa), "enter"));

    /// <summary>
    /// Listing 3: the leave marker rides on the leaving user's own unavailable presence, in the same batch as the
    /// unavailable presence for the replica's other occupants (the XEP's "then … to all replicas").
    /// </summary>
    [Fact]
    public void Listing_3_the_primary_informs_the_replica_of_an_occupants_departure() =>
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc' type='unavailable'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='none' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <to jid='msa@vesa.yeggmaex.irc/bicycle' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc' type='unavailable'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='none' jid='rubenro@vesa.yeggmaex.irc/shaver' />
                <status code='110' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <leave jid='rubenro@vesa.yeggmaex.irc/shaver' />
                <to jid='rubenro@vesa.yeggmaex.irc/shaver' />
              </x>
            </presence>
            """, scenario.BigCheeseLeaves.WireTo(Vesa));

    /// <summary>
    /// Listing 4, a presence update (BigCheese goes away). The XEP sends killrc one stanza with the real JID and
    /// lets the replica strip it for non-moderators; we never hand a replica a real JID its recipient may not see:
    /// killrc gets the JID-less view for all but Wumpus (our &lt;except/&gt;) and the full view for Wumpus alone.
    /// eris has only moderators and gets one stanza with the JID, exactly as in the XEP. vesa gets the view for
    /// Efchen and BigCheese's own presence (110) — the XEP's '...'.
    /// </summary>
    [Fact]
    public void Listing_4_the_primary_sends_a_presence_update_to_every_replica()
    {
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@killrc.oulubox.irc'>
              <show>away</show>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <except jid='argl@killrc.oulubox.irc/laptop' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@killrc.oulubox.irc'>
              <show>away</show>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <to jid='argl@killrc.oulubox.irc/laptop' />
              </x>
            </presence>
            """, scenario.BigCheeseGoesAway.WireTo(Killrc));
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@eris.dclxvii.irc'>
              <show>away</show>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
            </presence>
            """, scenario.BigCheeseGoesAway.WireTo(Eris));
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc'>
              <show>away</show>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <to jid='msa@vesa.yeggmaex.irc/bicycle' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc'>
              <show>away</show>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
                <status code='110' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <to jid='rubenro@vesa.yeggmaex.irc/shaver' />
              </x>
            </presence>
            """, scenario.BigCheeseGoesAway.WireTo(Vesa));
    }

    /// <summary>
    /// Listings 6 and 17 (the same message broadcast, §4.9 and §5.2): one stanza per replica, with the dmuc delay
    /// giving the time the primary accepted it. Our broadcast also carries the room's XEP-0359 stanza-id.
    /// (The XEP's Listing 17 vesa copy is malformed XML, and its Listing 6 killrc copy has '_' for spaces.)
    /// </summary>
    [Theory]
    [InlineData(Killrc)]
    [InlineData(Eris)]
    [InlineData(Vesa)]
    public void Listings_6_and_17_the_primary_distributes_a_message_to_every_replica(string replica)
    {
        XmlAssert.Matches($"""
            <message from='wallops@channel.avalon.irc/BigCheese' to='replica@{replica}' type='groupchat' id='*'>
              <body>Phaedrus, we're all having a truly rotten time.</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='*' by='wallops@channel.avalon.irc' />
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <delay xmlns='urn:xmpp:delay' from='wallops@channel.avalon.irc/BigCheese' stamp='*' />
              </x>
            </message>
            """, scenario.BigCheeseSpeaks.WireTo(replica));
        Assert.Single(scenario.BigCheeseSpeaks.BatchesTo(replica));
    }

    /// <summary>
    /// Listing 8, BigCheese's arrival: as Listing 4 (killrc gets the JID-less view for all but Wumpus and the full
    /// view for him; eris one stanza with the JID). On vesa, the '...' is the view for Efchen, then the entry (Listing 12).
    /// </summary>
    [Fact]
    public void Listing_8_the_primary_sends_the_new_occupants_presence_to_every_replica()
    {
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@killrc.oulubox.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <except jid='argl@killrc.oulubox.irc/laptop' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@killrc.oulubox.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <to jid='argl@killrc.oulubox.irc/laptop' />
              </x>
            </presence>
            """, scenario.BigCheeseEnters.WireTo(Killrc));
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@eris.dclxvii.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
            </presence>
            """, scenario.BigCheeseEnters.WireTo(Eris));
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <to jid='msa@vesa.yeggmaex.irc/bicycle' />
              </x>
            </presence>
            """, scenario.BigCheeseEnters.WireTo(Vesa).Where(stanza => From(stanza) == "wallops@channel.avalon.irc/BigCheese").Take(1));
    }

    /// <summary>Listing 9: only Wumpus, a moderator, sees the real JID; Valdis and Phaedrus get the JID-less view (the XEP's '...').</summary>
    [Fact]
    public void Listing_9_the_killrc_replica_distributes_the_presence_update() =>
        XmlAssert.MatchesInAnyOrder("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='argl@killrc.oulubox.irc/laptop'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='valdis@killrc.oulubox.irc/desktop'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='phaedrus@killrc.oulubox.irc/phone'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            """, scenario.BigCheeseEnters.DeliveredOn(Killrc));

    /// <summary>Listing 10 (its from='…/WiZ' is a slip of the XEP for BigCheese): both eris occupants are moderators.</summary>
    [Fact]
    public void Listing_10_the_eris_replica_distributes_the_presence_update() =>
        XmlAssert.MatchesInAnyOrder("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='squit@eris.dclxvii.irc/jupiter'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='troy@eris.dclxvii.irc/screwdriver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
              </x>
            </presence>
            """, scenario.BigCheeseEnters.DeliveredOn(Eris));

    /// <summary>
    /// Listing 11 shows only BigCheese's copy; Efchen, also on vesa, gets the JID-less view too. BigCheese's copy
    /// is his own presence (Listing 14).
    /// </summary>
    [Fact]
    public void Listing_11_the_vesa_replica_distributes_the_presence_update() =>
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='msa@vesa.yeggmaex.irc/bicycle'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/BigCheese' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
                <status code='110' />
              </x>
            </presence>
            """, scenario.BigCheeseEnters.DeliveredOn(Vesa).Where(stanza => From(stanza) == "wallops@channel.avalon.irc/BigCheese"));

    /// <summary>
    /// Listing 12: as Listing 2 without a history request. The XEP sends it after the presence update; we send
    /// one batch per command, so it is in the same batch, on BigCheese's own presence.
    /// </summary>
    [Fact]
    public void Listing_12_the_primary_informs_the_replica_of_the_new_occupant() =>
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='replica@vesa.yeggmaex.irc'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' jid='rubenro@vesa.yeggmaex.irc/shaver' />
                <status code='110' />
              </x>
              <x xmlns='urn:xmpp:tmp:dmuc:0'>
                <enter jid='rubenro@vesa.yeggmaex.irc/shaver' />
                <to jid='rubenro@vesa.yeggmaex.irc/shaver' />
              </x>
            </presence>
            """, Marked(scenario.BigCheeseEnters.WireTo(Vesa), "enter"));

    /// <summary>
    /// Listing 13: the roster BigCheese gets (Troy's affiliation as in Listing 1; nick order, compared in any order).
    /// The XEP's replica builds it from its stored roster; ours relays the primary's, which the primary sent with
    /// &lt;to jid='rubenro…'/&gt; because vesa already had Efchen.
    /// </summary>
    [Fact]
    public void Listing_13_the_replica_sends_the_existing_occupants_presence_to_the_new_occupant() =>
        XmlAssert.MatchesInAnyOrder("""
            <presence from='wallops@channel.avalon.irc/Wumpus' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='owner' role='moderator' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Valdis' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Phaedrus' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/WiZ' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='admin' role='moderator' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Troy' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='moderator' />
              </x>
            </presence>
            <presence from='wallops@channel.avalon.irc/Efchen' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' role='participant' />
              </x>
            </presence>
            """, DeliveredToBigCheeseOnEntering("presence").Where(stanza => From(stanza) != "wallops@channel.avalon.irc/BigCheese"));

    /// <summary>Listing 14: the new occupant's own presence, after the roster (the XEP's '...': 110 and the real JID).</summary>
    [Fact]
    public void Listing_14_the_replica_concludes_the_roster_with_the_new_occupants_own_presence() =>
        XmlAssert.Matches("""
            <presence from='wallops@channel.avalon.irc/BigCheese' to='rubenro@vesa.yeggmaex.irc/shaver'>
              <x xmlns='http://jabber.org/protocol/muc#user'>
                <item affiliation='none' jid='rubenro@vesa.yeggmaex.irc/shaver' role='participant' />
                <status code='110' />
              </x>
            </presence>
            """, DeliveredToBigCheeseOnEntering("presence").TakeLast(1));

    /// <summary>
    /// Listing 15: the history, after the roster. Our XEP-0203 delay is from the room's JID (XEP-0045 §7.2.15), where
    /// the XEP has the occupant JID; each message keeps its id and the room's stanza-id. The subject follows (XEP-0045).
    /// </summary>
    [Fact]
    public void Listing_15_the_replica_sends_the_discussion_history_to_the_new_occupant() =>
        XmlAssert.Matches("""
            <message from='wallops@channel.avalon.irc/Trillian' to='rubenro@vesa.yeggmaex.irc/shaver' type='groupchat' id='*'>
              <body>Honest! He did!!</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='*' by='wallops@channel.avalon.irc' />
              <delay xmlns='urn:xmpp:delay' from='wallops@channel.avalon.irc' stamp='*' />
            </message>
            <message from='wallops@channel.avalon.irc/BlondeBoy' to='rubenro@vesa.yeggmaex.irc/shaver' type='groupchat' id='*'>
              <body>Was that absolutely necessary?????????</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='*' by='wallops@channel.avalon.irc' />
              <delay xmlns='urn:xmpp:delay' from='wallops@channel.avalon.irc' stamp='*' />
            </message>
            <message from='wallops@channel.avalon.irc/DCLXVI' to='rubenro@vesa.yeggmaex.irc/shaver' type='groupchat' id='*'>
              <body>SUUUUUUUURE he did</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='*' by='wallops@channel.avalon.irc' />
              <delay xmlns='urn:xmpp:delay' from='wallops@channel.avalon.irc' stamp='*' />
            </message>
            <message from='wallops@channel.avalon.irc/Cerebus' to='rubenro@vesa.yeggmaex.irc/shaver' type='groupchat' id='*'>
              <body>He did. really truly he did.</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='*' by='wallops@channel.avalon.irc' />
              <delay xmlns='urn:xmpp:delay' from='wallops@channel.avalon.irc' stamp='*' />
            </message>
            <message from='wallops@channel.avalon.irc' to='rubenro@vesa.yeggmaex.irc/shaver' type='groupchat'>
              <subject />
            </message>
            """, DeliveredToBigCheeseOnEntering("message"));

    /// <summary>Listings 18–20: each replica delivers the message to each of its occupants, without the dmuc &lt;x/&gt;.</summary>
    [Theory]
    [InlineData(Killrc, "argl@killrc.oulubox.irc/laptop valdis@killrc.oulubox.irc/desktop phaedrus@killrc.oulubox.irc/phone")]
    [InlineData(Eris, "squit@eris.dclxvii.irc/jupiter troy@eris.dclxvii.irc/screwdriver")]
    [InlineData(Vesa, "rubenro@vesa.yeggmaex.irc/shaver msa@vesa.yeggmaex.irc/bicycle")]
    public void Listings_18_to_20_each_replica_distributes_the_message_to_its_occupants(string replica, string occupants) =>
        XmlAssert.MatchesInAnyOrder(string.Concat(occupants.Split(' ').Select(occupant => $"""
            <message from='wallops@channel.avalon.irc/BigCheese' to='{occupant}' type='groupchat' id='*'>
              <body>Phaedrus, we're all having a truly rotten time.</body>
              <stanza-id xmlns='urn:xmpp:sid:0' id='*' by='wallops@channel.avalon.irc' />
            </message>
            """)), scenario.BigCheeseSpeaks.DeliveredOn(replica));

    private IEnumerable<XElement> DeliveredToBigCheeseOnEntering(string kind) =>
        scenario.BigCheeseEnters.DeliveredTo(BigCheese).Where(stanza => stanza.Name.LocalName == kind);

    /// <summary>The stanzas to a replica whose dmuc &lt;x/&gt; carries an &lt;enter/&gt; or &lt;leave/&gt;.</summary>
    private static IEnumerable<XElement> Marked(IEnumerable<XElement> wire, string marker) =>
        wire.Where(stanza => stanza.Element(Dmuc + "x")?.Element(Dmuc + marker) is not null);

    private static string? From(XElement stanza) => stanza.Attribute("from")?.Value;
}
