using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// XEP-0282 §3.1 and §5 played once on the four Wallops nodes, recording what crossed the wire and what each
/// node delivered at every step the listings show.
/// </summary>
public sealed class WallopsScenario : IAsyncLifetime
{
    /// <summary>Listing 15's discussion history: said by users of the primary's own host, who then left.</summary>
    public static readonly (ChatUser Speaker, string Body)[] History =
    [
        (Trillian, "Honest! He did!!"),
        (BlondeBoy, "Was that absolutely necessary?????????"),
        (Dclxvi, "SUUUUUUUURE he did"),
        (Cerebus, "He did. really truly he did."),
    ];

    public const string RottenTime = "Phaedrus, we're all having a truly rotten time.";

    private ClusterRoom _room = null!;

    public DmucTestCluster Cluster { get; private set; } = null!;

    /// <summary>Efchen is vesa's first occupant: the primary sends vesa the room roster (Listing 1).</summary>
    public StepTraffic EfchenEnters { get; private set; } = null!;
    /// <summary>BigCheese enters asking for 20 messages of history (Listing 2).</summary>
    public StepTraffic BigCheeseEntersWithHistoryRequest { get; private set; } = null!;
    /// <summary>BigCheese leaves (Listing 3).</summary>
    public StepTraffic BigCheeseLeaves { get; private set; } = null!;
    /// <summary>BigCheese enters as in §5.1, Listing 7 (Listings 8–15).</summary>
    public StepTraffic BigCheeseEnters { get; private set; } = null!;
    /// <summary>BigCheese says Listing 16's message (Listings 6, 17–20).</summary>
    public StepTraffic BigCheeseSpeaks { get; private set; } = null!;
    /// <summary>BigCheese goes away: a presence update (Listing 4).</summary>
    public StepTraffic BigCheeseGoesAway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await DmucTestCluster.StartAsync(Nodes);
        _room = new ClusterRoom(Cluster, Room);

        // §3.1: Wumpus owns the room, WiZ is an admin, Troy a moderator by role (the table's roles; see Listing 1's note).
        await _room.CreateAsync(Wumpus);
        await _room.SubmitAsync(Wumpus, SetAffiliation(Wumpus, Room, WiZ.BareJid, "admin"));
        await _room.EnterAllAsync([Valdis, Phaedrus, WiZ, Troy]);
        await _room.SubmitAsync(Wumpus, SetRole(Wumpus, Room, Troy.Nick, "moderator"));
        foreach (var (speaker, body) in History)
        {
            await _room.EnterAsync(speaker);
            Cluster.SendFromUser(Say(speaker, Room, body, id: speaker.Nick.ToLowerInvariant()));
            await Cluster.WaitForAsync(speaker.Jid, Received.GroupchatBody(body));
            Cluster.SendFromUser(Leave(speaker, Room));
            await Cluster.WaitForAsync(speaker.Jid, Received.PresenceOf(Room, speaker.Nick, available: false));
        }
        List<ChatUser> occupants = [Wumpus, Valdis, Phaedrus, WiZ, Troy];
        await _room.SettleAsync(occupants);

        EfchenEnters = await RecordAsync(Enter(Efchen, Room), [.. occupants, Efchen]);
        BigCheeseEntersWithHistoryRequest = await RecordAsync(
            Enter(BigCheese, Room, "<history maxstanzas='20'/>"), [.. occupants, Efchen, BigCheese]);
        BigCheeseLeaves = await RecordAsync(Leave(BigCheese, Room), [.. occupants, Efchen]);
        BigCheeseEnters = await RecordAsync(Enter(BigCheese, Room), [.. occupants, Efchen, BigCheese]);
        BigCheeseSpeaks = await RecordAsync(Say(BigCheese, Room, RottenTime, id: "rotten"), [.. occupants, Efchen, BigCheese]);
        BigCheeseGoesAway = await RecordAsync(UpdatePresence(BigCheese, Room, "away"), [.. occupants, Efchen, BigCheese]);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    private static ChatUser Actor(XElement stanza) =>
        new[] { Efchen, BigCheese }.Single(user => user.Jid == stanza.Attribute("from")?.Value);

    /// <summary>Sends a user's stanza and records everything it caused, on every node, up to the barriers that settle it.</summary>
    private async Task<StepTraffic> RecordAsync(XElement stanza, IReadOnlyCollection<ChatUser> occupantsAfter)
    {
        var batchMarks = Cluster.Nodes.ToDictionary(node => node.Host, node => node.Batches.Mark(Room));
        var deliveryMarks = Cluster.Nodes.ToDictionary(node => node.Host, node => node.Sink.All.Count);
        Cluster.SendFromUser(stanza);
        await _room.SettleAfterAsync(Actor(stanza), occupantsAfter);
        return new StepTraffic(
            Cluster.Nodes.ToDictionary(node => node.Host, node => node.Batches.Since(Room, batchMarks[node.Host])
                .Where(batch => !batch.Items.All(item => ClusterRoom.IsBarrier(item.Stanza))).ToList()),
            Cluster.Nodes.ToDictionary(node => node.Host, node => node.Sink.All.Skip(deliveryMarks[node.Host])
                .Where(delivery => !ClusterRoom.IsBarrier(delivery.Stanza)).ToList()));
    }
}

/// <summary>What one step of the scenario sent: the batches each node received, and what each node delivered.</summary>
public sealed class StepTraffic(
    IReadOnlyDictionary<string, List<ReplicaBatch>> batches,
    IReadOnlyDictionary<string, List<Delivery>> deliveries)
{
    public IReadOnlyList<ReplicaBatch> BatchesTo(string host) => batches[host];

    /// <summary>The stanzas the primary sent <paramref name="host"/>'s replica, as the XEP writes them (to replica@host).</summary>
    public IReadOnlyList<XElement> WireTo(string host) =>
        batches[host].SelectMany(batch => batch.Items.Select(item => DmucCodec.ItemToXml(item, batch.ReplicaHost))).ToList();

    /// <summary>The stanzas <paramref name="user"/>'s node delivered to the user, with the <c>to</c> the XMPP server gives them.</summary>
    public IReadOnlyList<XElement> DeliveredTo(ChatUser user) =>
        deliveries[user.Host].Where(delivery => delivery.To.ToString() == user.Jid).Select(AsSent).ToList();

    /// <summary>Everything <paramref name="host"/>'s node delivered, in order.</summary>
    public IReadOnlyList<XElement> DeliveredOn(string host) => deliveries[host].Select(AsSent).ToList();

    private static XElement AsSent(Delivery delivery)
    {
        var stanza = new XElement(delivery.Stanza);
        stanza.SetAttributeValue("to", delivery.To.ToString());
        return stanza;
    }
}
