using System.Text;
using Dmuc.Integration.Tests.Infrastructure;

namespace Dmuc.Integration.Tests.Prosody;

/// <summary>Renders a throw-away prosody.cfg.lua: loopback only, no TLS, any user/password accepted, memory storage.</summary>
internal static class ProsodyConfig
{
    // vcard_legacy (with pep) adds <x xmlns='vcard-temp:x:update'> to client presence, which muc_create_destroy expects.
    // smacks, carbons and csi_simple are what a real deployment loads: whatever reaches clients goes through them.
    private static readonly string[] HostModules =
        ["roster", "saslauth", "disco", "ping", "pep", "vcard_legacy", "smacks", "carbons", "csi_simple"];

    /// <summary>Where mod_dmuc_multicast, mod_dmuc_stream_ack and mod_dmuc_delivered live (deploy/prosody/README.md).</summary>
    public static string MulticastModuleDirectory => Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "prosody");

    public static string Render(ProsodyOptions options, ProsodyPorts ports, string workDirectory, string componentSecret)
    {
        var config = new StringBuilder();
        void Line(string line) => config.Append(line).Append('\n');

        Line("run_as_root = true");
        Line($"pidfile = {Lua(Path.Combine(workDirectory, "prosody.pid"))}");
        Line($"data_path = {Lua(Path.Combine(workDirectory, "data"))}");
        Line($"certificates = {Lua(workDirectory)}"); // no certificates there; keeps the indexer from complaining
        Line($"log = {{ {options.LogLevel} = {Lua(Path.Combine(workDirectory, ProsodyServer.LogFileName))} }}");
        Line($"c2s_ports = {{ {ports.ClientToServer} }}");
        Line("c2s_interfaces = { \"127.0.0.1\" }");
        Line($"component_ports = {{ {ports.Component} }}");
        Line("component_interfaces = { \"127.0.0.1\" }");
        Line("modules_disabled = { \"s2s\" }");
        var multicast = options.MulticastModule && options.MucHosting == MucHosting.ExternalComponent;
        var streamAck = options.StreamAckModule && options.MucHosting == MucHosting.ExternalComponent;
        var delivered = options.DeliveredModule && options.MucHosting == MucHosting.ExternalComponent;
        if (multicast || streamAck || delivered) Line($"plugin_paths = {LuaList([MulticastModuleDirectory])}");
        Line($"modules_enabled = {LuaList(multicast ? [.. HostModules, "dmuc_multicast"] : HostModules)}");
        Line("c2s_require_encryption = false");
        Line("allow_unencrypted_plain_auth = true");
        Line("authentication = \"insecure\"");
        Line("insecure_open_authentication = \"Yes please, I know what I'm doing!\"");
        Line("storage = \"memory\"");
        Line($"admins = {LuaList(options.ServiceAdmins)}");
        Line("");
        Line($"VirtualHost {Lua(options.Domain)}");
        if (multicast) Line($"\tdmuc_multicast_senders = {LuaList([options.MucDomain])}");
        Line("");
        switch (options.MucHosting)
        {
            case MucHosting.ProsodyOwnMuc:
                Line($"Component {Lua(options.MucDomain)} \"muc\"");
                Line($"\tadmins = {LuaList(options.ServiceAdmins)}");
                break;
            case MucHosting.ExternalComponent:
                Line($"Component {Lua(options.MucDomain)}");
                Line($"\tcomponent_secret = {Lua(componentSecret)}");
                string[] componentModules = [.. streamAck ? ["dmuc_stream_ack"] : Array.Empty<string>(), .. delivered ? ["dmuc_delivered"] : Array.Empty<string>()];
                if (componentModules.Length > 0) Line($"\tmodules_enabled = {LuaList(componentModules)}");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.MucHosting, "Unknown MUC hosting");
        }
        return config.ToString();
    }

    private static string Lua(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string LuaList(IEnumerable<string> values) => "{ " + string.Join(", ", values.Select(Lua)) + " }";
}

internal sealed record ProsodyPorts(int ClientToServer, int Component);
