using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// An occupant's groupchat messages and presence changes against the service's per-user stanza rate. The test room
/// moves its clock one second per stanza; this rate refills a tenth of a stanza per second, with a burst of three.
/// </summary>
public sealed class OccupantStanzaRateTests
{
    private const string Juliet = "juliet@localhost/balcony";
    private readonly TestRoom _room = new(new MucServiceOptions("conference.localhost", new HashSet<Jid>())
    {
        OccupantStanzaRate = new RateLimit(PerSecond: 0.1, Burst: 3),
    });

    public OccupantStanzaRateTests()
    {
        _room.Join(TestRoom.Owner, "Owner");
        _room.Configure();
        _room.Join(Juliet, "Juliet");
    }

    [Fact]
    public void A_message_beyond_the_burst_is_refused_to_its_sender_with_policy_violation_and_reaches_nobody()
    {
        for (var i = 0; i < 3; i++) Assert.Equal(2, _room.Say(Juliet, $"line {i}").Deliveries.Count);

        var refused = _room.Say(Juliet, "one too many");

        refused.HasError(Juliet, "policy-violation", "wait");
        Assert.Empty(refused.To(TestRoom.Owner));
        Assert.Empty(refused.Events.OfType<HistoryMessageAdded>());
        Assert.Contains("wait a moment", refused.To(Juliet).Single().Element(Ns.Client + "error")!.Value);
    }

    [Fact]
    public void Each_user_has_an_allowance_of_its_own_which_refills_with_time()
    {
        for (var i = 0; i < 3; i++) _room.Say(Juliet, $"line {i}");
        _room.Say(Juliet, "refused").HasError(Juliet, "policy-violation", "wait");

        Assert.Equal(2, _room.Say(TestRoom.Owner, "the owner still speaks").Deliveries.Count);
        _room.Now += TimeSpan.FromSeconds(10);
        Assert.Equal(2, _room.Say(Juliet, "after a pause").Deliveries.Count);
    }

    [Fact]
    public void Presence_changes_and_nick_changes_count_but_leaving_is_never_refused()
    {
        _room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Juliet'><show>away</show></presence>");
        _room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Jules'/>");
        _room.Say(Juliet, "hello");

        _room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Jules'><show>dnd</show></presence>")
            .HasError(Juliet, "policy-violation", "wait");
        var leaving = _room.Leave(Juliet, "Jules");
        Assert.Contains(leaving.To(TestRoom.Owner), stanza => stanza.Attribute("type")?.Value == "unavailable");
    }

    [Fact]
    public void Messages_a_replica_held_through_a_netsplit_are_not_counted_when_they_arrive_together()
    {
        var heldSince = _room.Now;
        for (var i = 0; i < 5; i++)
        {
            var held = TestRoom.Stanza($"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat' id='h{i}'><body>held {i}</body></message>");
            Assert.Equal(2, _room.Run(new HandleStanza(held, _room.Now, SentAt: heldSince)).Deliveries.Count);
        }
    }

    [Fact]
    public void Messages_the_server_hands_again_after_a_crash_are_not_counted_when_they_arrive_together()
    {
        // They were sent at the user's pace before the node that took them died; its next life hears them all at once.
        for (var i = 0; i < 5; i++)
        {
            var resent = TestRoom.Stanza($"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat' id='r{i}'><body>resent {i}</body></message>");
            Assert.Equal(2, _room.Run(new HandleStanza(resent, _room.Now, Resent: true)).Deliveries.Count);
        }
    }
}
