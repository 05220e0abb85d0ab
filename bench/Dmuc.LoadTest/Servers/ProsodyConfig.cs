using System.Text;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// A prosody.cfg.lua for load: loopback only, no TLS, any user logs in, no rate limits (mod_limits is not
/// loaded), warnings only in the log, memory storage, no MAM, short room history.
/// </summary>
internal static class ProsodyConfig
{
    public const string Domain = "localhost";
    public const string MucDomain = "conference.localhost";
    public const int HistoryLength = 20;

    public static string Render(Backend backend, int clientPort, int componentPort, string workDirectory, string componentSecret)
    {
        var config = new StringBuilder();
        void Line(string line) => config.Append(line).Append('\n');

        Line("run_as_root = true");
        Line($"pidfile = {Lua(Path.Combine(workDirectory, "prosody.pid"))}");
        Line($"data_path = {Lua(Path.Combine(workDirectory, "data"))}");
        Line($"certificates = {Lua(workDirectory)}"); // none there; keeps the certificate indexer quiet
        Line($"log = {{ warn = {Lua(Path.Combine(workDirectory, "prosody.log"))} }}");
        Line($"c2s_ports = {{ {clientPort} }}");
        Line("c2s_interfaces = { \"127.0.0.1\" }");
        Line($"component_ports = {{ {componentPort} }}");
        Line("component_interfaces = { \"127.0.0.1\" }");
        Line("modules_disabled = { \"s2s\" }");
        // saslauth also does resource binding; everything else a chat client would want only costs CPU here.
        Line("modules_enabled = { \"saslauth\" }");
        Line("limits = {}");
        // Prosody keeps Nagle on by default: small stanzas then wait for delayed ACKs (~40 ms at low rates).
        Line("network_settings = { nagle = false }");
        Line("c2s_require_encryption = false");
        Line("allow_unencrypted_plain_auth = true");
        Line("authentication = \"insecure\"");
        Line("insecure_open_authentication = \"Yes please, I know what I'm doing!\"");
        Line("storage = \"memory\"");
        Line("");
        Line($"VirtualHost {Lua(Domain)}");
        Line("");
        switch (backend)
        {
            case Backend.ProsodyMuc:
                Line($"Component {Lua(MucDomain)} \"muc\"");
                Line($"\tmax_history_messages = {HistoryLength}");
                Line($"\tmuc_room_default_history_length = {HistoryLength}");
                break;
            case Backend.Dmuc:
                Line($"Component {Lua(MucDomain)}");
                Line($"\tcomponent_secret = {Lua(componentSecret)}");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, null);
        }
        return config.ToString();
    }

    private static string Lua(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
