using System.CommandLine;
using System.Diagnostics;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli;

public sealed partial class DmucCli
{
    private static readonly TimeSpan DrainPollInterval = TimeSpan.FromMilliseconds(500);

    private Command NodeCommand()
    {
        var node = new Argument<string>("NODE") { Description = "The primary-capable node's address, akka.tcp://dmuc@HOST:PORT" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait until it is drained", DefaultValueFactory = _ => 120 };
        var drain = Asking(new Command("drain",
                "Move a primary-capable node's rooms to the other primary nodes before maintenance: it leaves the cluster gracefully " +
                "(sharding hands its rooms over; occupants stay) and stops. Ask another node; waits until NODE is gone and every room with occupants is placed on another node.")
            { node, timeout },
            (parse, client, ct) => DrainAsync(client, parse.GetRequiredValue(node), TimeSpan.FromSeconds(parse.GetValue(timeout)), ct),
            Views.Drained);
        return new Command("node", "One node of the cluster") { drain };
    }

    /// <summary>
    /// Drained: the node is no longer a member as the asked node sees it, no room is placed on it, and every room with
    /// occupants is placed again (while sharding moves a shard, its rooms are placed nowhere).
    /// </summary>
    private static async Task<NodeDrained> DrainAsync(ManagementClient client, string node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var accepted = await client.PostAsync<ClusterActionAccepted>(ManagementApi.ClusterDrain, new ClusterNodeRequest(node), cancellationToken);
        while (true)
        {
            var cluster = await client.GetAsync<ClusterView>(ManagementApi.Cluster, cancellationToken);
            if (cluster.Members.All(member => member.Address != accepted.Node))
            {
                var rooms = (await RoomPagesAsync(client, after: null, limit: null, cancellationToken)).Rooms;
                if (rooms.All(room => room.Node != accepted.Node && (room.Node is not null || room.Occupants == 0)))
                    return new NodeDrained(accepted.Node, clock.Elapsed.TotalSeconds, rooms.GroupBy(room => room.Node)
                        .OrderBy(placed => placed.Key, StringComparer.Ordinal).Select(placed => new NodeRoomCount(placed.Key, placed.Count())).ToList());
            }
            if (clock.Elapsed > timeout)
                throw new ManagementException($"{accepted.Node} was not drained within {timeout.TotalSeconds:F0} s (still a member, or rooms still placed on it): see `dmuc cluster show` and `dmuc rooms list`",
                    ExitCodes.Failed);
            await Task.Delay(DrainPollInterval, cancellationToken);
        }
    }
}
