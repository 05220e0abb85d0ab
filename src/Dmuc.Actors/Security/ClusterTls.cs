using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Event;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Transport.DotNetty;
using Dmuc.Credentials;

namespace Dmuc.Actors.Security;

/// <summary>
/// Akka.Remote over mutual TLS: a node presents its certificate and accepts only peers whose certificate the
/// cluster's own authority issued, in both directions, so a process without such a certificate cannot
/// associate, let alone join (docs/operations.md#security).
/// </summary>
public static class ClusterTls
{
    public const string Hocon = "akka.remote.dot-netty.tcp.enable-ssl = true";

    public static Config Config { get; } = ConfigurationFactory.ParseString(Hocon);

    public static DotNettySslSetup Setup(NodeCredential credential) =>
        new(credential.Certificate, suppressValidation: false, requireMutualAuthentication: true,
            customValidator: (certificate, _, remotePeer, _, log) =>
            {
                if (ClusterAuthority.Refusal(credential.Authority, certificate) is not { } refusal) return true;
                log.Warning("Refused a cluster connection with {0}: its certificate is {1}", remotePeer, refusal);
                return false;
            });

    /// <summary>The node's actor-system setup for tests and tools that build systems without Akka.Hosting.</summary>
    public static ActorSystemSetup SystemSetup(NodeCredential credential, Config config) =>
        BootstrapSetup.Create().WithConfig(Config.WithFallback(config)).And(Setup(credential));

    public static AkkaConfigurationBuilder AddClusterTls(this AkkaConfigurationBuilder builder, NodeCredential credential)
    {
        builder.AddHocon(Hocon, HoconAddMode.Prepend);
        builder.AddSetup(Setup(credential));
        return builder;
    }
}
