using System.Diagnostics;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Security;
using Dmuc.Credentials;
using Dmuc.Xmpp;

// What mutual TLS costs on the inter-node path: a primary's actor system sends replica batches (one groupchat
// message each, serialized as XEP-0282 XML by the real DmucProtocolSerializer) to two replica systems over
// loopback Akka.Remote, as fast as a bounded window of unacknowledged batches allows; plain TCP against TLS in
// one run. Reported: batches/s per link and process CPU per batch.
//   dotnet run -c Release --project bench/Dmuc.TlsCost -- [batches per link, default 200000] [rounds, default 3]

var batchesPerLink = args.Length > 0 ? int.Parse(args[0]) : 200_000;
var rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
const string Muc = "channel.avalon.irc";
var authority = ClusterAuthority.Create("tls-cost authority", TimeSpan.FromDays(1));

Console.WriteLine($"| transport | round | batches/s per link (2 links) | CPU µs per batch |");
Console.WriteLine("|---|---:|---:|---:|");
for (var round = 1; round <= rounds; round++)
    foreach (var tls in new[] { false, true })
    {
        var (rate, cpu) = await MeasureAsync(tls);
        Console.WriteLine($"| {(tls ? "mutual TLS" : "plain TCP")} | {round} | {rate:N0} | {cpu:F1} |");
    }

async Task<(double Rate, double CpuMicros)> MeasureAsync(bool tls)
{
    var primary = StartSystem(tls, NodeClaims.For("avalon", ["avalon.irc"], [Muc]));
    var replicas = new[] { "killrc.oulubox.irc", "eris.dclxvii.irc" }.Select(host => StartSystem(tls, NodeClaims.For(host, [host], []))).ToList();
    try
    {
        var sinks = replicas.Select(replica => replica.ActorOf(Props.Create(() => new Acknowledger()), "sink")).ToList();
        var targets = replicas.Select(replica => primary.ActorSelection(new RootActorPath(Akka.Cluster.Cluster.Get(replica).SelfAddress) / "user" / "sink")
            .ResolveOne(TimeSpan.FromSeconds(10)).Result).ToList();
        // Warm-up: connections, handshakes, JIT.
        await Task.WhenAll(targets.Select(target => SendAsync(primary, target, 5_000)));
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(targets.Select(target => SendAsync(primary, target, batchesPerLink)));
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        return (batchesPerLink / clock.Elapsed.TotalSeconds, cpu.TotalMicroseconds / (2.0 * batchesPerLink));
    }
    finally
    {
        await Task.WhenAll(replicas.Append(primary).Select(system => system.Terminate()));
    }
}

ActorSystem StartSystem(bool tls, NodeClaims claims)
{
    var config = ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """)
        .WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.ProtocolSerializerHocon))
        .WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.RemotingHocon));
    if (!tls) return ActorSystem.Create("dmuc", config);
    var credential = new NodeCredential(ClusterAuthority.Issue(authority, claims, TimeSpan.FromDays(1)), authority);
    return ActorSystem.Create("dmuc", ClusterTls.SystemSetup(credential, config));
}

// A sender that keeps at most Window batches unacknowledged; the replica side acknowledges every 100th.
static async Task SendAsync(ActorSystem system, IActorRef target, int count)
{
    var done = new TaskCompletionSource();
    system.ActorOf(Props.Create(() => new WindowedSender(target, count, done)));
    await done.Task;
}

sealed class WindowedSender : ReceiveActor
{
    private const int Window = 1000;
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly XElement Message = new(Ns.Client + "message", new XAttribute("from", "wallops@channel.avalon.irc/Wumpus"),
        new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", "Phaedrus, we're all having a truly rotten time."));

    private readonly IActorRef _target;
    private readonly int _count;
    private long _sent;

    public WindowedSender(IActorRef target, int count, TaskCompletionSource done)
    {
        _target = target;
        _count = count;
        Receive<long>(acknowledged =>
        {
            if (acknowledged >= _count) { done.TrySetResult(); Context.Stop(Self); return; }
            SendUpTo(acknowledged + Window);
        });
    }

    protected override void PreStart() => SendUpTo(Window);

    private void SendUpTo(long limit)
    {
        for (; _sent < Math.Min(limit, _count);)
            _target.Tell(new ReplicaBatch(Room, "killrc.oulubox.irc", ++_sent, [new ReplicaItem(Message, null, Delay: DateTimeOffset.UnixEpoch)]), Self);
    }
}

sealed class Acknowledger : ReceiveActor
{
    public Acknowledger() => Receive<ReplicaBatch>(batch =>
    {
        if (batch.Sequence % 100 == 0) Sender.Tell(batch.Sequence);
    });
}
