using System.Diagnostics;
using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

// What a primary room spends deciding and planning one groupchat message (PrimaryRoom.Decide: the room's rules, then the split into
// local deliveries and one batch per replica host), alone on one thread: the part of the node's cost per message that NodeBench's
// end-to-end figures cannot separate from the journal, the stream and the machine's other load. CPU time of the whole process (the
// GC's included), best of the measured rounds, so that other processes on the machine inflate it as little as possible.
// Argument: the number of hosts the 100 occupants are spread over, the first being the primary's own (default 4; 1 = no replica host).
var hostCount = args.Length > 0 ? int.Parse(args[0]) : 4;
string[] hosts = [.. new[] { "avalon.irc", "killrc.oulubox.irc", "eris.dclxvii.irc", "vesa.yeggmaex.irc" }.Take(hostCount)];
const string room = "wallops@channel.avalon.irc";
const int occupants = 100, messagesPerRound = 2_000, warmUpRounds = 3, measuredRounds = 12;
var now = DateTimeOffset.UtcNow;
var options = new MucServiceOptions("channel.avalon.irc", new HashSet<Jid>()) { OccupantIds = false, OccupantStanzaRate = null };
var primary = new PrimaryRoom(new RoomState(Jid.Parse(room), options), host => host != hosts[0], () => hosts.Length > 1,
    receiptJournalInterval: TimeSpan.Zero);

Decide($"<presence from='owner@{hosts[0]}/t' to='{room}/owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
Decide($"<iq from='owner@{hosts[0]}/t' to='{room}' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>");
for (var i = 1; i < occupants; i++)
    Decide($"<presence from='u{i}@{hosts[i % hosts.Length]}/r' to='{room}/n{i}'><x xmlns='http://jabber.org/protocol/muc'/></presence>");

var message = Stanza($"<message from='owner@{hosts[0]}/t' to='{room}' type='groupchat' id='m'><body>message number 1 of ordinary length</body></message>");
var best = double.MaxValue;
for (var round = 0; round < warmUpRounds + measuredRounds; round++)
{
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    for (var k = 0; k < messagesPerRound; k++) primary.Decide(new HandleStanza(new XElement(message), now));
    var perMessage = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / messagesPerRound;
    if (round >= warmUpRounds) best = Math.Min(best, perMessage);
}
Console.WriteLine($"| {occupants} | {hosts.Length} | {best:F1} |");

void Decide(string stanza) => primary.Decide(new HandleStanza(Stanza(stanza), now));

// As a server hands stanzas to the component: in the jabber:client namespace.
static XElement Stanza(string xml) => XElement.Parse(xml.Replace("<presence ", "<presence xmlns='jabber:client' ")
    .Replace("<message ", "<message xmlns='jabber:client' ").Replace("<iq ", "<iq xmlns='jabber:client' "));
