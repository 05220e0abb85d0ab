using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

public sealed class RecipientOrderMergeTests
{
    private static readonly Jid Ann = Jid.Parse("ann@h/1"), Bob = Jid.Parse("bob@h/2"), Cy = Jid.Parse("cy@h/3");

    [Fact]
    public void An_equal_stanza_joins_the_latest_group_only_when_its_recipient_has_nothing_in_or_after_it()
    {
        var merge = new RecipientOrderMerge<string>(StringComparer.Ordinal);

        merge.Add("roster", Ann);
        merge.Add("self", Ann);
        // Bob got nothing yet: his copy of the roster presence moves up into Ann's group.
        merge.Add("roster", Bob);
        // Ann already got something after the roster's group: a second copy for her starts a group of its own.
        merge.Add("roster", Ann);
        // Cy joins the latest roster group (Ann's second), not the first.
        merge.Add("roster", Cy);
        merge.Add("self", Bob);

        Assert.Equal([("roster", "ann@h/1 bob@h/2"), ("self", "ann@h/1 bob@h/2"), ("roster", "ann@h/1 cy@h/3")],
            merge.Groups.Select(group => (group.Stanza, string.Join(" ", group.Recipients))));
    }

    /// <summary>
    /// Three joins in a row in a semi-anonymous room, merged by their bytes as the outbox merges what a room gathered: every
    /// recipient gets exactly the stanzas the decisions sent it, in their order; the roster presences of the earlier
    /// occupants to the later entrants go out once each; and a moderator's view (real JIDs) never shares a group with a
    /// participant's.
    /// </summary>
    [Fact]
    public void Consecutive_joins_share_their_roster_presences_and_keep_each_recipients_order_and_view()
    {
        var room = TestRoom.Created();
        room.Admin(TestRoom.Owner, "affiliation='admin' jid='mod@localhost'");
        room.Join("nurse@localhost/kitchen", "Nurse");
        (string Jid, string Nick)[] entrants = [("juliet@localhost/balcony", "Juliet"), ("mod@localhost/desk", "Mod"), ("romeo@localhost/street", "Romeo")];
        var deliveries = entrants.SelectMany(entrant => room.Join(entrant.Jid, entrant.Nick).Deliveries).ToList();

        var merge = new RecipientOrderMerge<RenderedStanza>(RenderedStanza.SameBytes);
        var texts = new Dictionary<RenderedStanza, string>(ReferenceEqualityComparer.Instance);
        foreach (var delivery in deliveries)
        {
            var rendered = RenderedStanza.Render(delivery.Stanza);
            texts[rendered] = delivery.Stanza.ToString(SaveOptions.DisableFormatting);
            merge.Add(rendered, delivery.To);
        }

        var recipients = deliveries.Select(delivery => delivery.To).Distinct().ToList();
        foreach (var recipient in recipients)
            Assert.Equal(deliveries.Where(delivery => delivery.To == recipient).Select(delivery => delivery.Stanza.ToString(SaveOptions.DisableFormatting)),
                merge.Groups.Where(group => group.Recipients.Contains(recipient)).Select(group => texts[group.Stanza]));
        Assert.All(merge.Groups, group => Assert.Equal(group.Recipients.Count, group.Recipients.Distinct().Count()));

        // The owner's and the nurse's presences reach the three entrants as one group each (anonymous to the participants,
        // with real JIDs to the moderator apart); the subject too.
        var rosterOf = (string nick) => merge.Groups.Where(group => texts[group.Stanza].Contains($"from=\"{TestRoom.Room}/{nick}\"")
            && !texts[group.Stanza].Contains("code=\"110\"") && group.Recipients.Count > 1).ToList();
        Assert.Equal(["juliet@localhost/balcony romeo@localhost/street"], rosterOf("Nurse").Select(group => string.Join(" ", group.Recipients)));
        Assert.Equal(["juliet@localhost/balcony romeo@localhost/street"], rosterOf("Owner").Select(group => string.Join(" ", group.Recipients)));
        Assert.True(merge.Groups.Count < deliveries.Count - 4, $"{merge.Groups.Count} groups for {deliveries.Count} deliveries");

        // No participant shares a group whose stanza shows another user's real JID.
        string[] participants = ["juliet@localhost/balcony", "nurse@localhost/kitchen", "romeo@localhost/street"];
        string[] realJids = ["owner@localhost", "mod@localhost", .. participants.Select(jid => Jid.Parse(jid).Bare.ToString())];
        foreach (var group in merge.Groups)
            foreach (var participant in group.Recipients.Select(jid => jid.ToString()).Where(participants.Contains))
                Assert.DoesNotContain(realJids, jid => jid != Jid.Parse(participant).Bare.ToString() && texts[group.Stanza].Contains(jid));
    }
}
