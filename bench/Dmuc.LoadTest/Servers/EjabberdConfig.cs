using Dmuc.Testing;
using System.Text;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// An ejabberd.yml for load, the counterpart of <see cref="ProsodyConfig"/>: loopback only, c2s without TLS,
/// any user logs in (external auth that says yes), no shapers anywhere, queues and room sizes far above what a
/// scenario uses, warnings only in the log, short room history, and no MAM unless the host is archived (mod_mam in mnesia,
/// ejabberd's default database).
/// </summary>
internal static class EjabberdConfig
{
    private const int RoomSizeLimit = 10_000;

    /// <summary>
    /// ejabberd's extauth protocol: each request is a 2-byte big-endian length and "op:user:host[:password]";
    /// the answer is length 2 and result 1 (true) for every operation.
    /// </summary>
    public const string AcceptEveryoneScript = """
        $| = 1; binmode STDIN; binmode STDOUT;
        while (read(STDIN, my $length, 2) == 2) { read(STDIN, my $request, unpack('n', $length)); print pack('nn', 2, 1); }

        """;

    public static string Render(XmppHostSettings host, string extauthProgram)
    {
        var config = new StringBuilder();
        void Line(string line) => config.Append(line).Append('\n');

        Line($"hosts: [{Yaml(host.Domain)}]");
        Line("loglevel: warning");
        Line("log_rotate_count: 0");
        Line("auth_method: external");
        Line($"extauth_program: {Yaml(extauthProgram)}");
        Line("auth_use_cache: true");
        // Debian's stock limit drops a session whose outgoing queue grows past 10,000 stanzas: a saturated
        // room's receivers would be disconnected instead of measured.
        Line("max_fsm_queue: 1000000");
        Line("shaper_rules: {}");
        Line("listen:");
        Line("  - port: " + host.ClientPort);
        Line("    ip: \"127.0.0.1\"");
        Line("    module: ejabberd_c2s");
        Line("    starttls: false");
        Line("    shaper: none");
        // The default backlog of 5 refuses connections when a scenario logs dozens of clients in at once.
        Line("    backlog: 1024");
        Line("    max_stanza_size: 1048576");
        if (host.Muc == MucService.Dmuc)
        {
            Line("  - port: " + host.ComponentPort);
            Line("    ip: \"127.0.0.1\"");
            Line("    module: ejabberd_service");
            Line("    shaper_rule: none");
            Line("    hosts:");
            Line($"      {Yaml(host.MucDomain)}:");
            Line($"        password: {Yaml(host.ComponentSecret)}");
        }
        if (host.Muc == MucService.Dmuc)
        {
            foreach (var line in EjabberdMulticast.ConfigLines(Yaml(host.MucDomain), host.EjabberdMulticast)) Line(line);
        }
        else
        {
            Line("modules:");
            if (host.Archived)
            {
                Line("  mod_mam:");
                Line("    db_type: mnesia");
            }
            Line("  mod_muc:");
            Line($"    hosts: [{Yaml(host.MucDomain)}]");
            Line("    access_create: all");
            Line($"    max_users: {RoomSizeLimit}");
            Line($"    max_users_presence: {RoomSizeLimit}");
            Line($"    history_size: {XmppHostSettings.HistoryLength}");
            Line("    min_message_interval: 0");
            Line("    min_presence_interval: 0");
            Line("    room_shaper: none");
            Line("    user_message_shaper: none");
            Line("    user_presence_shaper: none");
            Line("    default_room_options:");
            // The service's max_users only caps what a room may be configured to; each room starts at 200.
            Line($"      max_users: {RoomSizeLimit}");
            Line($"      mam: {(host.Archived ? "true" : "false")}");
            Line("      persistent: false");
        }
        return config.ToString();
    }

    private static string Yaml(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
