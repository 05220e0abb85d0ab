using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// <c>show-split-users-away = on</c> (XEP-0282 §4.11.1 MAY) on a real cluster: avalon's users see killrc's occupants
/// go away when killrc splits from the primary and come back when it rejoins.
/// </summary>
[Collection("netsplit")]
public sealed class SplitUsersAwayTests()
    : AvalonKillrcClusterTests(ConfigurationFactory.ParseString($"{ReplicationSettings.ConfigPath}.show-split-users-away = on"))
{
    [Fact]
    public async Task An_avalon_user_sees_a_killrc_user_go_away_on_the_split_and_come_back_on_the_heal()
    {
        var room = new ClusterRoom(Cluster, $"away@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAsync(Wumpus);
        await room.SettleAsync([Trillian, Wumpus]);
        var before = Cluster.ReceivedBy(Trillian.Jid).Count;

        await Netsplit.Links.CutAsync(Avalon, Killrc);
        var away = await Cluster.WaitForAsync(Trillian.Jid, stanza => IsPresenceOfWumpus(stanza) && Show(stanza) == "away");
        Assert.Equal(SplitHostAway.SplitStatus, away.Element(Ns.Client + "status")?.Value);
        // The room itself is unchanged: its roster still has Wumpus, and only Trillian's view was told otherwise.
        Assert.Equal(2, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);

        await Netsplit.Links.HealAsync(Avalon, Killrc);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc);
        await Eventually.HoldsAsync(() => Cluster.ReceivedBy(Trillian.Jid).Skip(before).LastOrDefault(IsPresenceOfWumpus) is { } last && Show(last) is null,
            "Trillian to see Wumpus back as he was", TimeSpan.FromSeconds(15));
        await room.SettleAsync([Trillian, Wumpus]);
        var presences = Cluster.ReceivedBy(Trillian.Jid).Skip(before).Where(IsPresenceOfWumpus).ToList();
        Assert.Equal(["away", null], presences.Select(Show));
        Assert.DoesNotContain(presences, presence => presence.Attribute("type") is not null);
    }

    private static bool IsPresenceOfWumpus(System.Xml.Linq.XElement stanza) =>
        stanza.Name == Ns.Client + "presence" && stanza.Attribute("from")?.Value == $"away@{Service}/{Wumpus.Nick}";

    private static string? Show(System.Xml.Linq.XElement presence) => presence.Element(Ns.Client + "show")?.Value;
}
