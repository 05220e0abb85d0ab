using System.Globalization;
using Dmuc.Management.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Dmuc.Cli;

/// <summary>How each answer of the management endpoint looks in a terminal (the --json output is the answer itself).</summary>
internal static class Views
{
    public static void Cluster(IAnsiConsole console, ClusterView cluster)
    {
        var table = NewTable("", "Address", "Host", "Status", "Reachable", "Roles");
        foreach (var member in cluster.Members)
            AddRow(table, member.IsSelf ? "*" : "", member.Address, member.HostDomain ?? "-", member.Status,
                member.Reachable ? "yes" : "NO", string.Join(", ", member.Roles));
        console.Write(table);
        console.WriteLine($"* = the node answering ({cluster.Self})");
        console.WriteLine(cluster.Delivery.MulticastService is { } service
            ? $"broadcasts to {cluster.Delivery.HostDomain}: one multicast stanza through {service} " +
              (cluster.Delivery.CompactRecipients ? "(Dmuc's compact recipient list)" : "(XEP-0033)")
            : "broadcasts: one stanza per recipient");
    }

    public static void ClusterAction(IAnsiConsole console, ClusterActionAccepted accepted) =>
        console.WriteLine($"{accepted.Action} requested for {accepted.Node}");

    public static void Drained(IAnsiConsole console, NodeDrained drained)
    {
        console.WriteLine($"{drained.Node} drained in {drained.Seconds:F1} s: it left the cluster and holds no room");
        foreach (var placed in drained.RoomsByNode)
            console.WriteLine($"  {placed.Rooms} rooms on {placed.Node ?? "(shard not placed yet)"}");
    }

    public static void ActorTree(IAnsiConsole console, ActorTreeView view)
    {
        var tree = new Tree(Label(view.Root));
        AddChildren(tree, view.Root);
        console.Write(tree);
        if (view.Truncated) console.WriteLine("(truncated: the walk hit its size or time limit)");

        static void AddChildren(IHasTreeNodes parent, ActorTreeNode node)
        {
            foreach (var child in node.Children)
                AddChildren(parent.AddNode(Label(child)), child);
        }

        static IRenderable Label(ActorTreeNode node) => new Text(node.Path == "/" ? "/" : node.Name);
    }

    public static void Rooms(IAnsiConsole console, RoomsView rooms)
    {
        if (rooms.NodeRole == NodeRoleView.Replica)
            console.WriteLine($"This node is a replica: it relays these rooms (occupants as its roster has them); the primary ({rooms.PrimaryNode ?? "not in view"}) holds them.");
        var table = NewTable("Room", "Name", "Occupants", "Replica hosts", "Node", "In memory");
        foreach (var room in rooms.Rooms)
            AddRow(table, room.Room, room.Name, Number(room.Occupants), JoinOrDash(room.ReplicaHosts), room.Node ?? "not in view",
                room.Active switch { true => "yes", false => "no (idle, in the journal)", null => "-" });
        console.Write(table);
        if (rooms.Total is { } total)
            console.WriteLine(rooms.NextAfter is { } next
                ? $"{Number(rooms.Rooms.Count)} of {Number(total)} rooms; the next page: --after {next}"
                : $"{Number(rooms.Rooms.Count)} of {Number(total)} rooms");
    }

    public static void Room(IAnsiConsole console, RoomDetails room)
    {
        var summary = new Grid().AddColumn().AddColumn();
        foreach (var (name, value) in new[]
                 {
                     ("Room", room.Room), ("Name", room.Name ?? "-"), ("Node", room.Node ?? "not in view"),
                     ("Occupants", Number(room.OccupantCount)),
                     ("History kept", Number(room.HistoryLength)),
                     ("Journal sequence nr", room.JournalSequenceNr is { } sequenceNr ? Number(sequenceNr) : "- (on the primary)"),
                 })
            summary.AddRow(new Text(name), new Text(value));
        console.Write(summary);

        var occupants = NewTable("Host", "Nick", "Role", "Affiliation", "Real JID");
        foreach (var host in room.OccupantsByHost)
        foreach (var occupant in host.Occupants)
            AddRow(occupants, host.Host ?? "(another host)", occupant.Nick, occupant.Role, occupant.Affiliation, occupant.RealJid ?? "-");
        console.Write(occupants);

        if (room.Replica is { } replica)
        {
            console.WriteLine("This node is a replica; what it holds of the room:");
            var link = NewTable("Primary", "State", "Split since", "Last RTT", "Average RTT", "Last batch", "Held");
            AddRow(link, replica.PrimaryNode ?? "not in view", replica.State, SplitSince(replica.SplitSince), Milliseconds(replica.LastRttMilliseconds),
                Milliseconds(replica.AverageRttMilliseconds), Number(replica.LastBatchSequence), Number(replica.HeldStanzas));
            console.Write(link);
            return;
        }

        if (room.ReplicaLinks.Count == 0)
        {
            console.WriteLine("No replica links (every occupant is served by this node).");
            return;
        }
        var links = NewTable("Replica host", "Node", "State", "Split since", "Last RTT", "Average RTT", "Batches sent", "Withheld");
        foreach (var link in room.ReplicaLinks)
            AddRow(links, link.Host, link.Node ?? "-", link.State, SplitSince(link.SplitSince),
                Milliseconds(link.LastRttMilliseconds), Milliseconds(link.AverageRttMilliseconds), Number(link.BatchesSent), Number(link.BatchesWithheld));
        console.Write(links);
    }

    public static void History(IAnsiConsole console, RoomHistoryView history)
    {
        var table = NewTable("Time (UTC)", "Nick", "Message");
        foreach (var message in history.Messages)
            AddRow(table, message.Timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), message.Nick,
                message.Body ?? "(no body)");
        console.Write(table);
        console.WriteLine($"{history.Messages.Count} of {history.Kept} kept messages");
    }

    public static void RoomAction(IAnsiConsole console, RoomActionDone done) =>
        console.WriteLine(done.Action switch
        {
            "kick" => $"Kicked {done.Nick} from {done.Room}",
            "destroy" => $"Destroyed {done.Room}",
            _ => $"{done.Action}: {done.Room}",
        });

    internal static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns) table.AddColumn(new TableColumn(new Text(column)));
        return table;
    }

    /// <summary>Cells are plain text: room names and nicks may contain Spectre markup characters.</summary>
    internal static void AddRow(Table table, params string[] cells) => table.AddRow(cells.Select(cell => (IRenderable)new Text(cell)));

    private static string JoinOrDash(IReadOnlyList<string> values) => values.Count == 0 ? "-" : string.Join(", ", values);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string SplitSince(DateTimeOffset? since) => since?.ToString("u", CultureInfo.InvariantCulture) ?? "-";

    private static string Milliseconds(double? value) => value is { } ms ? ms.ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "-";
}
