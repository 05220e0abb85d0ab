using Akka.Actor;
using Dmuc.Actors.Rooms;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>What a replica node sent before the cluster named it for its host (<see cref="ReplicaMailAwaitingNaming{T}"/>), pure.</summary>
public sealed class ReplicaMailAwaitingNamingTests
{
    private const string Killrc = "killrc.oulubox.irc";
    private const string Eris = "eris.dclxvii.irc";
    private static readonly Address KillrcNode = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 4063);
    private static readonly Address ErisNode = new("akka.ssl.tcp", "dmuc", "127.0.0.1", 4073);
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(10);
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;

    [Fact]
    public void A_node_not_named_yet_waits_and_is_served_in_arrival_order_once_named_and_its_later_messages_queue_behind()
    {
        var mail = new ReplicaMailAwaitingNaming<string>(Longest, mostPerNode: 100);
        Assert.False(mail.ServesNow(KillrcNode, Killrc, named: false));
        Assert.True(mail.Hold(KillrcNode, Killrc, "forward 1", _start));
        Assert.True(mail.Hold(ErisNode, Eris, "eris ping", _start));
        // Named now, but its earlier forward still waits: the next one must not overtake it.
        Assert.False(mail.ServesNow(KillrcNode, Killrc, named: true));
        Assert.True(mail.Hold(KillrcNode, Killrc, "forward 2", _start + TimeSpan.FromSeconds(1)));
        // Another node's wait does not hold killrc's node back.
        Assert.True(new ReplicaMailAwaitingNaming<string>(Longest, mostPerNode: 100).ServesNow(KillrcNode, Killrc, named: true));

        var (named, expired) = mail.Release((node, host) => node == KillrcNode && host == Killrc, _start + TimeSpan.FromSeconds(2));

        Assert.Equal(["forward 1", "forward 2"], named);
        Assert.Empty(expired);
        Assert.Equal(1, mail.Count);
        Assert.True(mail.ServesNow(KillrcNode, Killrc, named: true));
        Assert.False(mail.ServesNow(ErisNode, Eris, named: true));
    }

    [Fact]
    public void A_node_that_is_never_named_for_the_host_it_claims_is_never_served_and_its_mail_is_dropped_after_the_longest_wait()
    {
        var mail = new ReplicaMailAwaitingNaming<string>(Longest, mostPerNode: 100);
        // killrc's node speaks for eris: the cluster names it for killrc only.
        mail.Hold(KillrcNode, Eris, "forged for eris", _start);
        mail.Hold(KillrcNode, Eris, "forged again", _start + TimeSpan.FromSeconds(5));
        bool NamedForKillrcOnly(Address node, string host) => node == KillrcNode && host == Killrc;

        Assert.Equal((0, 0), Counts(mail.Release(NamedForKillrcOnly, _start + Longest - TimeSpan.FromMilliseconds(1))));
        var (named, expired) = mail.Release(NamedForKillrcOnly, _start + Longest);
        Assert.Empty(named);
        Assert.Equal(["forged for eris"], expired);
        Assert.Equal(["forged again"], mail.Release(NamedForKillrcOnly, _start + TimeSpan.FromSeconds(15)).Expired);
        Assert.Equal(0, mail.Count);
    }

    [Fact]
    public void Beyond_the_most_one_node_may_have_waiting_its_next_message_is_not_held_while_other_nodes_still_are()
    {
        var mail = new ReplicaMailAwaitingNaming<int>(Longest, mostPerNode: 2);
        Assert.True(mail.Hold(KillrcNode, Killrc, 1, _start));
        Assert.True(mail.Hold(KillrcNode, Eris, 2, _start));
        Assert.False(mail.Hold(KillrcNode, Killrc, 3, _start));
        // killrc's node, never named for eris, has used up its own bound, not eris's node's.
        Assert.True(mail.Hold(ErisNode, Eris, 4, _start));
        Assert.Equal((2, 1), (mail.CountOf(KillrcNode), mail.CountOf(ErisNode)));

        Assert.Equal([1, 4], mail.Release((node, host) => host == (node == KillrcNode ? Killrc : Eris), _start).Named);
        Assert.True(mail.Hold(KillrcNode, Killrc, 3, _start));
        Assert.Equal([2, 3], mail.Release((_, _) => true, _start).Named);
        Assert.Equal(0, mail.CountOf(KillrcNode));
    }

    private static (int Named, int Expired) Counts((IReadOnlyList<string> Named, IReadOnlyList<string> Expired) released) =>
        (released.Named.Count, released.Expired.Count);
}
