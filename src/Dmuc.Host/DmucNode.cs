using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Component;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Telemetry;
using Dmuc.Host.Drills;
using Dmuc.Host.Management;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;

namespace Dmuc.Host;

/// <summary>Builds a Dmuc node: configuration, logging, the actor system and its actors.</summary>
public static class DmucNode
{
    public static IHost Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        args = DrillOptions.WithFlagValues(args);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, NodeOptions.CommandLineSwitches.ToDictionary());
        configure?.Invoke(builder.Configuration);

        var options = builder.Configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new NodeOptions();
        options.Validate();
        var credential = options.Tls.Load(options);

        var clusterAddress = $"{options.Drills.ClusterScheme}://dmuc@{options.ClusterHostname}:{options.ClusterPort}";
        var nodeAddress = new NodeAddressEnricher(clusterAddress);
        // Its own logger, not Serilog's static one: with the static logger, every node of a process (the test hosts run many)
        // wrote to whichever node had been built last, and a node's log file got another's events and lost its own.
        builder.Services.AddSerilog((_, logger) => NodeLogging.Configure(logger, builder.Configuration, options, nodeAddress),
            preserveStaticLogger: true);

        var service = options.Limits.ApplyTo(new MucServiceOptions(options.Domain.ToLowerInvariant(),
            options.Admins.Select(admin => Jid.Parse(admin).Bare).ToHashSet())
        {
            NetjoinBacklog = options.NetjoinBacklog,
            DiscoItemsPageSize = options.DiscoItemsPageSize,
            RoomDefaults = new RoomConfig { Archived = options.ArchiveRooms },
            TombstoneLifetime = options.RoomTombstoneLifetime > TimeSpan.Zero ? options.RoomTombstoneLifetime : null,
            ArchiveRetention = options.ArchiveRetention.ToRetention(),
        });
        // Rooms sharded over several primary-capable nodes of one host: only one of them holds the host's stream (Prosody takes
        // one component connection per domain), and the others' rooms reach the host's users through it.
        var relaysToOwnHost = options.Role == NodeRole.Primary && options.Placement == RoomPlacement.Sharded && !string.IsNullOrWhiteSpace(options.HostDomain);
        // Several nodes may then serve the host: each stands by until the cluster names it, so that none takes the stream (Prosody
        // takes one) before it knows of the others.
        var startsStandingBy = options.Standby.Enabled || relaysToOwnHost;
        var (host, port) = options.ServerEndpoint();
        var component = new ComponentSettings(host, port, service.ServiceDomain, options.Secret, options.KeepaliveInterval)
        {
            MaxStanzaBytes = options.MaxStanzaBytes,
            MaxStanzaDepth = options.MaxStanzaDepth,
            MaxQueuedBytes = options.MaxQueuedBytes,
            Multicast = options.Multicast.ToSettings(options.ServedHost()),
            StartsStandingBy = startsStandingBy,
            StreamAcks = options.StreamAcks,
        };

        var metrics = new DmucMetrics();
        builder.Services.AddNodeMetrics(metrics, exported: options.Management.IsEnabled);
        builder.Services.AddSingleton(new ClusterHosts(options.HostDomain));
        builder.Services.AddSingleton(services =>
            new ComponentOutbox(services.GetRequiredService<ILogger<ComponentOutbox>>(), metrics, options.MaxQueuedBytes));
        if (relaysToOwnHost)
        {
            builder.Services.AddSingleton(sp => new OwnHostSink(sp.GetRequiredService<ComponentOutbox>(), sp.GetRequiredService<ClusterHosts>()));
            builder.Services.AddSingleton<IStanzaSink>(sp => sp.GetRequiredService<OwnHostSink>());
        }
        else
        {
            builder.Services.AddSingleton<IStanzaSink>(sp => sp.GetRequiredService<ComponentOutbox>());
        }
        builder.Services.AddHealthChecks();
        builder.Services.AddAkka("dmuc", (akka, services) =>
        {
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.AddSetup(new DmucMetricsSetup(metrics));
            akka.WithRemoting(options.ClusterHostname, options.ClusterPort);
            var seeds = options.Seeds.Select(options.Drills.SeedAddress).ToList();
            // No split brain resolver: ReplicationHosting.SplitToleranceHocon downs only primary-capable nodes (PrimaryDowning),
            // so that a replica's netsplit stays the application's business (docs/protocol/netjoin.md).
            akka.WithClustering(new ClusterOptions
            {
                Roles = ClusterRoles(options), SeedNodes = seeds.ToArray(), SplitBrainResolver = null,
            });
            if (seeds.Count > 1 && seeds[0] == clusterAddress) akka.AddFirstSeedJoin(FirstSeedGrace);
            akka.AddStartup((system, _) => nodeAddress.Started(Akka.Cluster.Cluster.Get(system).SelfAddress.ToString()));
            akka.AddRoomJournal(options.Journal());
            akka.AddDmucReplication(credential, service.ServiceDomain, joinSelfWhenNoSeeds: options.Seeds.Count == 0);
            // After AddDmucReplication, so that these timings win over its defaults.
            if (options.Replication.ToHocon() is { } timings) akka.AddHocon(timings, HoconAddMode.Prepend);
            akka.AddNetsplitDrills(options.Drills);
            if (relaysToOwnHost) akka.AddOwnHostRelay();
            akka.AddRoomDirectory(service, new RoomActorSettings(options.SnapshotEvery, RoomActorSettings.Default.IdleTimeout)
            {
                ArchiveExpiryCheckInterval = options.ArchiveRetention.CheckInterval,
            }, options.Role == NodeRole.Primary ? options.Placement : RoomPlacement.Local);
            akka.AddComponentConnection(component, routeToReplicas: options.Role == NodeRole.Replica);
            if (!string.IsNullOrWhiteSpace(options.HostDomain)) akka.AddHostStandby(options.Standby.ToSettings() with { StartsStandingBy = startsStandingBy });
            akka.AddNodeHealthChecks(services.GetRequiredService<ComponentOutbox>(), services.GetService<OwnHostSink>());
        });
        // Registered after Akka so that the actor system is up before the first request can reach it.
        if (options.Management.IsEnabled)
            builder.Services.AddManagementEndpoint(options.Management, new ManagedNode(options.Role, service.ServiceDomain));
        return builder.Build();
    }

    /// <summary>
    /// How long the first of its own seeds waits, with every other seed down, before it forms a new cluster
    /// (<see cref="FirstSeedPatience"/>); while another is up it waits to be taken in. Restarted after a crash, the others take
    /// it only once they have downed and removed its previous incarnation (on its <c>IncarnationStarted</c>), and the
    /// quarantine of that incarnation closes the new one's connections for a further 5 s (docs/protocol/netjoin.md §5).
    /// </summary>
    private static readonly TimeSpan FirstSeedGrace = TimeSpan.FromSeconds(20);

    private static string[] ClusterRoles(NodeOptions options)
    {
        var roles = new List<string> { options.Role == NodeRole.Primary ? ClusterHosts.PrimaryRole : ClusterHosts.ReplicaRole };
        if (!string.IsNullOrWhiteSpace(options.HostDomain)) roles.Add(ClusterHosts.HostRole(options.HostDomain));
        return roles.ToArray();
    }
}
