using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>How the primary gathers a replica's report sent in parts (<see cref="PrimaryRoom.Netjoin"/>).</summary>
public sealed class NetjoinReportPartsTests
{
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly DateTimeOffset Now = new(1990, 10, 13, 23, 58, 37, TimeSpan.Zero);
    private readonly PrimaryRoom _primary = new(new RoomState(Room, DmucTestCluster.ServiceOptions), _ => true, () => true);

    [Fact]
    public void A_report_is_processed_once_its_last_part_follows_the_others()
    {
        var parts = Report("netjoin-1").InParts(maxBytes: 200);
        Assert.True(parts.Count >= 3);

        Assert.All(parts.SkipLast(1), part => Assert.Null(_primary.Netjoin(part, Now)));
        Assert.NotNull(_primary.Netjoin(parts[^1], Now));
    }

    [Fact]
    public void A_report_with_a_part_lost_is_dropped_and_the_next_netjoin_is_taken_whole()
    {
        var lost = Report("netjoin-1").InParts(maxBytes: 200);

        Assert.Null(_primary.Netjoin(lost[0], Now));
        Assert.All(lost.Skip(2), part => Assert.Null(_primary.Netjoin(part, Now)));
        // A later part alone never starts a report.
        Assert.Null(_primary.Netjoin(lost[^1], Now));

        var again = Report("netjoin-2").InParts(maxBytes: 200);
        Assert.All(again.SkipLast(1), part => Assert.Null(_primary.Netjoin(part, Now)));
        Assert.NotNull(_primary.Netjoin(again[^1], Now));
    }

    private static ResyncReplica Report(string netjoinId) =>
        new(Room, "killrc.oulubox.irc", netjoinId, 7, null, new Dictionary<Jid, string>(), [],
            Enumerable.Range(0, 4).Select(i => new HeldStanza(Parse(
                $"<message xmlns='jabber:client' from='argl@killrc.oulubox.irc/laptop' to='{Room}' type='groupchat'><body>said {i} {new string('x', 100)}</body></message>"),
                Now)).ToList(), FirstHeldNumber: 1);
}
