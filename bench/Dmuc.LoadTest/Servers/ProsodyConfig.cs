using System.Text;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// A prosody.cfg.lua for load: loopback only, no TLS, any user logs in, no rate limits (mod_limits is not
/// loaded), warnings only in the log, memory storage, no MAM (unless the room is archived: muc_mam on SQLite), short room history,
/// Lua's own garbage-collector pause.
/// </summary>
internal static class ProsodyConfig
{
    public static string Render(XmppHostSettings host)
    {
        var config = new StringBuilder();
        void Line(string line) => config.Append(line).Append('\n');

        Line("run_as_root = true");
        Line($"pidfile = {Lua(Path.Combine(host.WorkDirectory, "prosody.pid"))}");
        Line($"data_path = {Lua(Path.Combine(host.WorkDirectory, "data"))}");
        Line($"certificates = {Lua(host.WorkDirectory)}"); // none there; keeps the certificate indexer quiet
        Line($"log = {{ warn = {Lua(Path.Combine(host.WorkDirectory, "prosody.log"))} }}");
        Line($"c2s_ports = {{ {host.ClientPort} }}");
        Line("c2s_interfaces = { \"127.0.0.1\" }");
        Line($"component_ports = {{ {host.ComponentPort} }}");
        Line("component_interfaces = { \"127.0.0.1\" }");
        Line("modules_disabled = { \"s2s\" }");
        // saslauth also does resource binding; everything else a chat client would want only costs CPU here. Dmuc's
        // multicast module (deploy/prosody, copied beside this tool) is part of what Dmuc needs from Prosody.
        if (host.Muc == MucService.Dmuc)
        {
            Line($"plugin_paths = {{ {Lua(Path.Combine(AppContext.BaseDirectory, "prosody"))} }}");
            Line("modules_enabled = { \"saslauth\", \"disco\", \"dmuc_multicast\" }");
        }
        else Line("modules_enabled = { \"saslauth\" }");
        Line("limits = {}");
        // Every backend's Prosody alike (its own MUC too): Lua's own collector pause instead of Prosody's 105 %, which
        // collected all the time and cost half the three Prosodies' CPU in a join of 500 (docs/operations.md#prosodys-garbage-collector).
        Line("gc = { mode = \"incremental\", threshold = 200, speed = 500 }");
        // Prosody keeps Nagle on by default: small stanzas then wait for delayed ACKs (~40 ms at low rates).
        Line("network_settings = { nagle = false }");
        Line("c2s_require_encryption = false");
        Line("allow_unencrypted_plain_auth = true");
        Line("authentication = \"insecure\"");
        Line("insecure_open_authentication = \"Yes please, I know what I'm doing!\"");
        if (host.Archived && host.Muc == MucService.ServerOwn)
        {
            // The archive on disk like Dmuc's journal (SQLite), everything else in memory as in the other scenarios.
            Line("default_storage = \"memory\"");
            Line("storage = { muc_log = \"sql\" }");
            Line($"sql = {{ driver = \"SQLite3\", database = {Lua(ProsodyArchiveStore.DatabasePath(host))} }}");
        }
        else Line("storage = \"memory\"");
        Line("");
        Line($"VirtualHost {Lua(host.Domain)}");
        if (host.Muc == MucService.Dmuc) Line($"\tdmuc_multicast_senders = {{ {Lua(host.MucDomain)} }}");
        Line("");
        switch (host.Muc)
        {
            case MucService.ServerOwn:
                Line($"Component {Lua(host.MucDomain)} \"muc\"");
                Line($"\tmax_history_messages = {XmppHostSettings.HistoryLength}");
                Line($"\tmuc_room_default_history_length = {XmppHostSettings.HistoryLength}");
                if (host.Archived)
                {
                    Line("\tmodules_enabled = { \"muc_mam\" }");
                    Line("\tmuc_log_by_default = true");
                    Line("\tmuc_log_expires_after = \"never\"");
                }
                break;
            case MucService.Dmuc:
                Line($"Component {Lua(host.MucDomain)}");
                Line($"\tcomponent_secret = {Lua(host.ComponentSecret)}");
                string[] componentModules = [.. host.StreamAck ? ["dmuc_stream_ack"] : Array.Empty<string>(), .. host.Delivered ? ["dmuc_delivered"] : Array.Empty<string>()];
                if (componentModules.Length > 0) Line($"\tmodules_enabled = {{ {string.Join(", ", componentModules.Select(Lua))} }}");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(host), host.Muc, null);
        }
        return config.ToString();
    }

    private static string Lua(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
