using Dmuc.Testing;
using System.Text;

namespace Dmuc.Integration.Tests.Ejabberd;

/// <summary>
/// Renders a throw-away ejabberd.yml: loopback only, c2s without TLS, any user logs in with any password
/// (anonymous authentication's login_anon, which takes SASL PLAIN), and the ejabberd_service listener and multicast
/// service that deploy/examples/ejabberd-host.yml shows operators.
/// </summary>
internal static class EjabberdConfig
{
    public static string Render(EjabberdOptions options, EjabberdPorts ports, string componentSecret)
    {
        var config = new StringBuilder();
        void Line(string line) => config.Append(line).Append('\n');

        Line($"hosts: [{Yaml(options.Domain)}]");
        // info, because the component's accepted handshake is logged at that level and the fixture waits for it.
        Line("loglevel: info");
        Line("log_rotate_count: 0");
        Line("auth_method: anonymous");
        Line("anonymous_protocol: login_anon");
        // Scripts log the same user in twice (two resources); anonymous sessions are one per user otherwise.
        Line("allow_multiple_connections: true");
        Line("listen:");
        Line("  -");
        Line($"    port: {ports.ClientToServer}");
        Line("    ip: \"127.0.0.1\"");
        Line("    module: ejabberd_c2s");
        Line("    starttls: false");
        Line("  -");
        Line($"    port: {ports.Component}");
        Line("    ip: \"127.0.0.1\"");
        Line("    module: ejabberd_service");
        Line("    hosts:");
        Line($"      {Yaml(options.MucDomain)}:");
        Line($"        password: {Yaml(componentSecret)}");
        foreach (var line in EjabberdMulticast.ConfigLines(Yaml(options.MucDomain), options.Multicast)) Line(line);
        return config.ToString();
    }

    private static string Yaml(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

internal sealed record EjabberdPorts(int ClientToServer, int Component);
