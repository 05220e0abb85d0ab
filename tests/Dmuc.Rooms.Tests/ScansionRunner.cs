using System.Text.RegularExpressions;
using System.Xml.Linq;
using Dmuc.Xmpp;
using Xunit.Sdk;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// Replays a Prosody scansion script against the room logic, standing in for the XMPP server and the
/// Dmuc host: it stamps senders' JIDs, routes stanzas to rooms or the service, delivers the decisions'
/// stanzas to the clients, sends unavailable presence for clients that disconnect, and runs Prosody's
/// room-destroy ad-hoc command as the host would (via <see cref="DestroyRoom"/>).
/// </summary>
public sealed partial class ScansionRunner
{
    private const string ServiceDomain = "conference.localhost";
    private static readonly XNamespace Commands = "http://jabber.org/protocol/commands";
    private static readonly XNamespace VcardUpdate = "vcard-temp:x:update";
    private const string DestroyNode = "http://prosody.im/protocol/muc#destroy";

    private readonly MucServiceOptions _options = new(ServiceDomain, new HashSet<Jid> { Jid.Parse("admin@localhost") });
    private readonly Dictionary<Jid, RoomState> _rooms = [];
    private readonly Dictionary<string, Client> _clients = [];
    private DateTimeOffset _now = new(2024, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class Client(string name, Jid fullJid)
    {
        public string Name { get; } = name;
        public Jid FullJid { get; } = fullJid;
        public List<XElement> Inbox { get; } = [];
        public bool Connected { get; set; }
        /// <summary>Rooms the client sent directed presence to, as the server tracks them.</summary>
        public Dictionary<Jid, string> Rooms { get; } = [];
    }

    public static void Run(string path) => new ScansionRunner().RunScript(File.ReadAllLines(path));

    private void RunScript(string[] lines)
    {
        var index = ReadClients(lines);
        while (index < lines.Length)
        {
            var line = lines[index++];
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var blockStart = index;
            var block = new List<string>();
            while (index < lines.Length && (lines[index].StartsWith('\t') || lines[index].StartsWith(' '))) block.Add(lines[index++]);
            try
            {
                Step(line, string.Join("\n", block));
            }
            catch (Exception exception) when (exception is not XunitException)
            {
                throw new XunitException($"line {blockStart}: {line}: {exception}");
            }
            catch (XunitException exception)
            {
                throw new XunitException($"line {blockStart}: {line}\n{exception.Message}");
            }
        }
    }

    private int ReadClients(string[] lines)
    {
        string? name = null;
        for (var index = 0; index < lines.Length; index++)
        {
            var line = lines[index];
            if (line.StartsWith("-----")) return index + 1;
            if (ClientHeader().Match(line) is { Success: true } header) name = header.Groups[1].Value;
            else if (name is not null && line.Trim().StartsWith("jid:"))
            {
                var jid = Jid.Parse(line.Trim()["jid:".Length..].Trim());
                _clients[name] = new Client(name, jid.IsFull ? jid : jid.WithResource("scansion-" + name));
            }
        }
        throw new InvalidOperationException("no ----- separator");
    }

    private void Step(string line, string block)
    {
        _now = _now.AddSeconds(1);
        var action = Action().Match(line);
        if (!action.Success) throw new XunitException("unknown step");
        var client = _clients[action.Groups[1].Value];
        switch (action.Groups[2].Value)
        {
            case "connects":
                client.Connected = true;
                break;
            case "disconnects":
                foreach (var (room, nick) in client.Rooms.ToList())
                    Send(client, new XElement(Ns.Client + "presence", new XAttribute("to", $"{room}/{nick}"), new XAttribute("type", "unavailable")));
                client.Connected = false;
                break;
            case "sends:":
                if (client.Connected) Send(client, Parse(block));
                break;
            case "receives: nothing":
                if (client.Inbox.Count > 0) throw new XunitException($"{client.Name} received unexpected:\n{string.Join("\n", client.Inbox)}");
                break;
            case "receives:":
                Receive(client, Parse(block));
                break;
        }
    }

    private XElement Parse(string block)
    {
        var text = VariablePattern().Replace(block, match =>
        {
            var client = _clients[match.Groups[1].Value];
            return match.Groups[2].Value == "full JID" ? client.FullJid.ToString() : client.FullJid.Bare.ToString();
        });
        var wrapper = XElement.Parse($"<block xmlns='jabber:client' xmlns:scansion='{ScansionMatcher.Scansion}'>{text}</block>");
        return wrapper.Elements().Single();
    }

    private void Receive(Client client, XElement expected)
    {
        var skipped = new List<XElement>();
        while (client.Inbox.Count > 0)
        {
            var next = client.Inbox[0];
            client.Inbox.RemoveAt(0);
            if (ScansionMatcher.Matches(expected, next)) return;
            skipped.Add(next);
        }
        throw new XunitException($"{client.Name} did not receive\n{expected}\nSkipped:\n{string.Join("\n", skipped)}");
    }

    private void Send(Client client, XElement stanza)
    {
        stanza.SetAttributeValue("from", client.FullJid.ToString());
        var toText = stanza.Attribute("to")?.Value;
        if (toText is null)
        {
            // The client's own server echoes broadcast presence back to it.
            if (stanza.Name.LocalName == "presence") client.Inbox.Add(new XElement(stanza));
            return;
        }
        var to = Jid.Parse(toText);
        if (to.Domain != ServiceDomain) return;
        AddVcardUpdate(stanza);
        TrackDirectedPresence(client, stanza, to);
        if (to.Local is null) SendToService(client, stanza);
        else Deliver(Room(to).Process(new HandleStanza(stanza, _now)), Room(to));
    }

    /// <summary>Prosody's mod_vcard_legacy stamps available presence with the avatar hash (none here).</summary>
    private static void AddVcardUpdate(XElement stanza)
    {
        if (stanza.Name.LocalName != "presence" || stanza.Attribute("type") is not null || stanza.Element(VcardUpdate + "x") is not null) return;
        stanza.Add(new XElement(VcardUpdate + "x", new XElement(VcardUpdate + "photo")));
    }

    private static void TrackDirectedPresence(Client client, XElement stanza, Jid to)
    {
        if (stanza.Name.LocalName != "presence" || to.Local is null) return;
        var type = stanza.Attribute("type")?.Value;
        if (type is null && to.Resource is { } nick) client.Rooms[to.Bare] = nick;
        else if (type == "unavailable") client.Rooms.Remove(to.Bare);
    }

    private RoomState Room(Jid jid)
    {
        if (!_rooms.TryGetValue(jid.Bare, out var room)) _rooms[jid.Bare] = room = new RoomState(jid.Bare, _options);
        return room;
    }

    private void SendToService(Client client, XElement stanza)
    {
        var command = stanza.Element(Commands + "command");
        if (command?.Attribute("node")?.Value != DestroyNode)
        {
            var listings = _rooms.Values.Select(room => room.PublicListing).OfType<RoomListing>().ToList();
            DeliverAll(MucService.HandleServiceStanza(stanza, listings, _options));
            return;
        }
        var destroyed = new List<string>();
        foreach (var value in command.Descendants(Ns.DataForms + "value"))
        {
            var room = Room(Jid.Parse(value.Value));
            if (!room.Exists) continue;
            Deliver(room.Process(new DestroyRoom(null, null, _now)), room);
            destroyed.Add(room.RoomJid.ToString());
        }
        client.Inbox.Add(new XElement(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", stanza.Attribute("id")!.Value),
            new XAttribute("from", ServiceDomain), new XAttribute("to", client.FullJid.ToString()),
            new XElement(Commands + "command", new XAttribute("node", DestroyNode), new XAttribute("status", "completed"),
                new XAttribute("sessionid", "1"),
                new XElement(Commands + "note", new XAttribute("type", "info"),
                    "The following rooms were destroyed:\n" + string.Join("\n", destroyed)))));
    }

    private void Deliver(Decision decision, RoomState room)
    {
        foreach (var @event in decision.Events) room.Apply(@event);
        DeliverAll(decision.Deliveries);
    }

    private void DeliverAll(IEnumerable<Delivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            if (delivery.Stanza.Attribute("from") is null || delivery.Stanza.Attribute("to") is not null)
                throw new XunitException($"delivery must have from and no to: {delivery.Stanza}");
            foreach (var client in _clients.Values.Where(client => client.Connected
                         && (client.FullJid == delivery.To || (delivery.To.IsBare && client.FullJid.Bare == delivery.To))))
            {
                var stanza = new XElement(delivery.Stanza);
                stanza.SetAttributeValue("to", client.FullJid.ToString());
                client.Inbox.Add(stanza);
            }
        }
    }

    [GeneratedRegex(@"^\[Client\]\s+(\S+)")]
    private static partial Regex ClientHeader();

    [GeneratedRegex(@"^(\S+) (connects|disconnects|sends:|receives: nothing|receives:)\s*$")]
    private static partial Regex Action();

    [GeneratedRegex(@"\$\{(\S+)'s (full JID|JID)\}")]
    private static partial Regex VariablePattern();
}
