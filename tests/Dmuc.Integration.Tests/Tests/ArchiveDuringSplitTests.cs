using Dmuc.Actors.Replication;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Muc.DrillTopology;
using static Dmuc.Integration.Tests.Xmpp.ArchiveClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The archive is read at the room's primary: a user on a replica host cut off from it gets an error for an archive
/// query, never a silently incomplete answer (docs/protocol/archive.md), and the whole archive once the link heals.
/// </summary>
public sealed class ArchiveDuringSplitTests(ITestOutputHelper output)
{
    private const string Room = $"wallops@{MucDomain}";

    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task A_replica_user_querying_the_archive_during_a_split_gets_an_error_and_after_the_heal_everything()
    {
        await using var topology = await DrillTopology.StartAsync();
        await using var alice = await topology.EnterAsync($"alice@{Avalon}/laptop", Room, "Alice");
        await alice.Client.ConfigureRoomAsync(Room);
        await using var wumpus = await topology.EnterAsync($"argl@{Killrc}/laptop", Room, "Wumpus");
        var before = await wumpus.Client.QueryArchiveAsync(Room, "linked", Page(max: 10, before: ""));
        Assert.Empty(before.Bodies);

        using (var killrc = topology.Management(Killrc))
            await killrc.PostAsync<NetsplitCutDone>(NetsplitApi.Cut, new NetsplitCutRequest(Avalon, Killrc), CancellationToken.None);
        await topology.WaitForLinkStateAsync(Room, Killrc, LinkState.Split);
        await alice.SendGroupchatAsync("said while killrc was away");
        await alice.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, "said while killrc was away"));

        var refused = await wumpus.Client.QueryArchiveExpectingErrorAsync(Room, "split", Page(max: 10, before: ""));
        output.WriteLine(refused.ToString());
        SplitReplica.AssertNeedsThePrimary(refused, Room);

        using (var avalon = topology.Management(Avalon))
            await avalon.PostAsync<NetsplitHealDone>(NetsplitApi.Heal, null, CancellationToken.None);
        await topology.WaitForLinkStateAsync(Room, Killrc, LinkState.Linked);
        var healed = await wumpus.Client.QueryArchiveAsync(Room, "healed", Page(max: 10, before: ""));
        Assert.Equal(["said while killrc was away"], healed.Bodies);
        Assert.True(healed.Complete);
    }
}
