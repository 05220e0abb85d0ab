using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>What the room keeps of the sessions it let go without their word (<see cref="SessionsLetGo"/>), and for how long.</summary>
public sealed class SessionsLetGoTests
{
    private const string Killrc = "killrc.oulubox.irc";
    private static readonly DateTimeOffset LetGoAt = new(2026, 12, 6, 1, 0, 0, TimeSpan.Zero);
    private static readonly Jid Wumpus = Jid.Parse("argl@killrc.oulubox.irc/laptop");
    private static readonly Jid Valdis = Jid.Parse("valdis@killrc.oulubox.irc/desktop");

    [Fact]
    public void A_session_let_go_while_its_host_had_no_node_is_kept_until_its_host_is_told_and_a_while_after()
    {
        var letGo = SessionsLetGo.None.LetGo(new SessionLetGo("Wumpus", Wumpus, LetGoAt, Told: false));
        var toldAt = LetGoAt + TimeSpan.FromHours(1);

        // Untold, an hour later: still taken as his, whenever served.
        letGo = letGo.LetGo(new SessionLetGo("Valdis", Valdis, toldAt, Told: true));
        Assert.Equal("Wumpus", letGo.SpokenFor(Wumpus, toldAt));
        letGo = letGo.Told(new LetGoTold(Killrc, toldAt));
        Assert.Empty(letGo.NotToldOf(Killrc));
        Assert.Equal("Wumpus", letGo.SpokenFor(Wumpus, toldAt));
        Assert.Null(letGo.SpokenFor(Wumpus, toldAt.AddSeconds(1)));

        var later = toldAt + RecentDepartures.KeptFor + TimeSpan.FromSeconds(1);
        letGo = letGo.LetGo(new SessionLetGo("Phaedrus", Jid.Parse("phaedrus@killrc.oulubox.irc/phone"), later, Told: true));
        Assert.Null(letGo.SpokenFor(Wumpus, toldAt));
        Assert.Null(letGo.SpokenFor(Valdis, toldAt));
        Assert.Equal(["Phaedrus"], letGo.All.Select(session => session.Nick));
    }

    [Fact]
    public void Departures_are_kept_for_ten_minutes_and_at_most_a_thousand()
    {
        var departures = RecentDepartures.None.Left("Tybalt", LetGoAt);
        for (var i = 0; i < RecentDepartures.MaxKept; i++) departures = departures.Left($"guest-{i}", LetGoAt.AddSeconds(1));
        Assert.Equal(RecentDepartures.MaxKept, departures.All.Count);
        Assert.DoesNotContain("Tybalt", departures.Since(null));

        departures = departures.Left("Mercutio", LetGoAt + RecentDepartures.KeptFor + TimeSpan.FromSeconds(2));
        Assert.Equal(["Mercutio"], departures.Since(null));
    }
}
