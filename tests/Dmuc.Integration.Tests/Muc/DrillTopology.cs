using System.Globalization;
using Akka.Actor;
using Dmuc.Actors.Replication;
using Dmuc.Cli;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// XEP-0282's avalon.irc (the rooms' home, the primary node), killrc.oulubox.irc and vesa.yeggmaex.irc (replicas),
/// each a real Prosody with its Dmuc node in this process, as a drill environment: every node runs netsplit drills
/// and a management endpoint (one token for all), and its links keep alive every few hundred milliseconds.
/// </summary>
public sealed class DrillTopology : IAsyncDisposable
{
    public const string MucDomain = "channel.avalon.irc";
    public const string Avalon = "avalon.irc";
    public const string Killrc = "killrc.oulubox.irc";
    public const string Vesa = "vesa.yeggmaex.irc";
    public const string Token = "drill-token";
    public static readonly IReadOnlyList<string> Hosts = [Avalon, Killrc, Vesa];
    public static readonly IReadOnlyList<string> ServiceAdmins = [$"admin@{Avalon}"];

    /// <summary>Fast keepalive: a cut link is marked split within about 1.5 s (interval + timeout).</summary>
    public static readonly TimeSpan KeepaliveInterval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan SplitPingInterval = TimeSpan.FromMilliseconds(300);

    // Generous: three Prosodies and three nodes share two cores with whatever else runs; a cold first entry took 9 s.
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan EntryTimeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyDictionary<string, string> _managementUrls;

    private DrillTopology(MultiHostEnvironment environment, IReadOnlyDictionary<string, string> managementUrls)
    {
        Environment = environment;
        _managementUrls = managementUrls;
    }

    public MultiHostEnvironment Environment { get; }

    public static async Task<DrillTopology> StartAsync()
    {
        var ports = FreeTcpPorts.Pick(Hosts.Count);
        var urls = Hosts.Select((host, i) => (host, url: $"http://127.0.0.1:{ports[i]}")).ToDictionary(pair => pair.host, pair => pair.url);
        var environment = await MultiHostEnvironment.StartAsync(MucDomain, Avalon, Hosts.Skip(1), ServiceAdmins,
            nodeSettings: host => new Dictionary<string, string?>
            {
                ["Dmuc:Management:Url"] = urls[host],
                ["Dmuc:Management:Token"] = Token,
                ["Dmuc:Drills:Netsplit"] = "true",
                ["Dmuc:Replication:KeepaliveInterval"] = KeepaliveInterval.ToString("c", CultureInfo.InvariantCulture),
                ["Dmuc:Replication:PingTimeout"] = PingTimeout.ToString("c", CultureInfo.InvariantCulture),
                ["Dmuc:Replication:SplitPingInterval"] = SplitPingInterval.ToString("c", CultureInfo.InvariantCulture),
            });
        var topology = new DrillTopology(environment, urls);
        await topology.WaitUntilEveryNodeSeesEveryMemberUpAsync();
        return topology;
    }

    /// <summary>
    /// Rooms already work once members are WeaklyUp; drills and membership views want the cluster converged, which
    /// takes longer on a loaded machine than the first messages do.
    /// </summary>
    private async Task WaitUntilEveryNodeSeesEveryMemberUpAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var host in Hosts)
        {
            using var management = Management(host);
            while ((await management.GetAsync<ClusterView>(ManagementApi.Cluster, CancellationToken.None)).Members is var members
                   && (members.Count < Hosts.Count || members.Any(member => member.Status != "Up")))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{host}'s node never saw every member Up");
                await Task.Delay(100);
            }
        }
    }

    public string ManagementUrl(string host) => _managementUrls[host];

    /// <summary>A client of <paramref name="host"/>'s management endpoint (the CLI's own).</summary>
    public ManagementClient Management(string host) => new(new Uri(ManagementUrl(host)), Token);

    /// <summary>Logs <paramref name="jid"/> (user@host/resource) in at its host's Prosody.</summary>
    public Task<XmppTestClient> ConnectAsync(string jid)
    {
        var domain = jid.Split('@', 2)[1].Split('/', 2)[0];
        return XmppTestClient.ConnectAsync(Environment.ClientEndpointFor(domain)!, jid, "password");
    }

    /// <summary>Logs <paramref name="jid"/> in and enters <paramref name="room"/> as <paramref name="nick"/>; a
    /// <paramref name="creator"/> then opens the room it created (an instant room).</summary>
    public async Task<RoomParticipant> EnterAsync(string jid, string room, string nick, bool creator = false)
    {
        var participant = await RoomParticipant.EnterAsync(await ConnectAsync(jid), room, nick, EntryTimeout);
        if (creator) await participant.Client.ConfigureRoomAsync(room);
        return participant;
    }

    /// <summary>The room's replica on <paramref name="host"/>, as its node's actor sees it.</summary>
    public Task<ReplicaRoom.ReplicaInspection> InspectReplicaAsync(string host, string room) =>
        Environment.Node(host).Services.GetRequiredService<ActorSystem>()
            .ActorSelection($"/user/{ReplicaDirectory.Name}/{Uri.EscapeDataString(room)}")
            .Ask<ReplicaRoom.ReplicaInspection>(ReplicaRoom.InspectReplica.Instance, TimeSpan.FromSeconds(3));

    /// <summary>The primary's link of the room to <paramref name="host"/>, read through the management endpoint (<c>room show</c>).</summary>
    public async Task<ReplicaLinkView> PrimaryLinkAsync(string room, string host)
    {
        using var management = Management(Avalon);
        var details = await management.GetAsync<RoomDetails>(ManagementApi.Room(room), CancellationToken.None);
        return details.ReplicaLinks.Single(link => link.Host == host);
    }

    /// <summary>Waits until both ends of the room's link to <paramref name="host"/> are in <paramref name="state"/>.</summary>
    public Task WaitForLinkStateAsync(string room, string host, LinkState state) =>
        WaitUntilAsync(async () => (await PrimaryLinkAsync(room, host)).State == state.ToString()
                                   && (await InspectReplicaAsync(host, room)).State == state,
            $"both ends of {room}'s link to {host} to be {state}");

    public static async Task WaitUntilAsync(Func<Task<bool>> holds, string what)
    {
        var deadline = DateTime.UtcNow + StateTimeout;
        while (!await holds())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {StateTimeout.TotalSeconds} s for {what}");
            await Task.Delay(100);
        }
    }

    public ValueTask DisposeAsync() => Environment.DisposeAsync();
}
