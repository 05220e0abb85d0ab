using System.Text;
using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

// What one room broadcast costs between hosts: Dmuc's replica batches (one per remote host, as serialized
// between nodes) against plain XEP-0045 over s2s (one stanza per remote occupant), for rooms whose occupants
// are spread evenly over three hosts. Both sides are measured on the real code: the room rules decide the
// deliveries, the planner groups them, the codec and the renderer produce the bytes.

var room = Jid.Parse("wallops@channel.avalon.irc");
string[] hosts = ["avalon.irc", "killrc.oulubox.irc", "eris.dclxvii.irc"];
var primaryHost = hosts[0];
var options = new MucServiceOptions("channel.avalon.irc", new HashSet<Jid>());

Console.WriteLine("| occupants | kind | Dmuc inter-node messages | Dmuc bytes | s2s stanzas | s2s bytes | bytes ratio (s2s/Dmuc) |");
Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
foreach (var occupants in new[] { 10, 100, 1000 })
{
    var state = new RoomState(room, options);
    var now = DateTimeOffset.UtcNow;
    for (var i = 0; i < occupants; i++)
    {
        var user = $"user{i}@{hosts[i % hosts.Length]}/res";
        var join = new XElement(Ns.Client + "presence", new XAttribute("from", user), new XAttribute("to", $"{room}/nick{i}"),
            new XElement(Ns.Muc + "x"));
        foreach (var e in state.Process(new HandleStanza(join, now)).Events) state.Apply(e);
        if (i == 0) UnlockInstantRoom(state, user, now);
    }
    var sessions = state.Sessions.ToDictionary(s => s.RealJid, s => s.Nick);
    var message = new XElement(Ns.Client + "message", new XAttribute("from", $"user1@{hosts[1]}/res"),
        new XAttribute("to", room.ToString()), new XAttribute("type", "groupchat"),
        new XElement(Ns.Client + "body", "Phaedrus, we're all having a truly rotten time."));
    var presence = new XElement(Ns.Client + "presence", new XAttribute("from", $"user1@{hosts[1]}/res"),
        new XAttribute("to", $"{room}/nick1"), new XElement(Ns.Client + "show", "away"));
    Measure("message", message);
    Measure("presence", presence);

    void Measure(string kind, XElement stanza)
    {
        var decision = state.Process(new HandleStanza(stanza, now));
        var acceptedAt = decision.Events.OfType<HistoryMessageAdded>().Select(e => (DateTimeOffset?)e.Entry.Timestamp).FirstOrDefault();
        var plan = ReplicationPlanner.Split(decision.Deliveries, host => host != primaryHost, room, sessions, sessions, stanza, acceptedAt);
        var dmucBytes = plan.ByHost.Sum(pair => Encoding.UTF8.GetByteCount(
            DmucCodec.ToXml(new ReplicaBatch(room, pair.Key, 1, pair.Value)).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces)));
        var remote = decision.Deliveries.Where(d => d.To.Domain != primaryHost).ToList();
        var s2sBytes = remote.Sum(d => RenderedStanza.Render(d.Stanza).GetByteCount(d.To.ToString()));
        Console.WriteLine($"| {occupants} | {kind} | {plan.ByHost.Count} | {dmucBytes:N0} | {remote.Count} | {s2sBytes:N0} | {(double)s2sBytes / dmucBytes:F1} |");
    }
}

// Instant rooms are locked until their owner accepts the default configuration (XEP-0045 §10.1.2).
static void UnlockInstantRoom(RoomState state, string owner, DateTimeOffset now)
{
    var accept = new XElement(Ns.Client + "iq", new XAttribute("from", owner), new XAttribute("to", state.RoomJid.ToString()),
        new XAttribute("type", "set"), new XAttribute("id", "instant"),
        new XElement(Ns.MucOwner + "query", new XElement(Ns.DataForms + "x", new XAttribute("type", "submit"))));
    foreach (var e in state.Process(new HandleStanza(accept, now)).Events) state.Apply(e);
}
