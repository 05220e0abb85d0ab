using System.Diagnostics;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Xmpp;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Topology;

/// <summary>A participant who says a numbered message every <see cref="SendEvery"/> until told to stop, and takes in everything it gets.</summary>
public sealed class Chatter(RoomParticipant participant, string host)
{
    /// <summary>Under the default limit of 2 messages a second per user.</summary>
    public static readonly TimeSpan SendEvery = TimeSpan.FromMilliseconds(600);

    /// <summary>A user of <paramref name="domain"/> in the topology enters its room (or <paramref name="room"/>); the <paramref name="creator"/> makes it persistent.</summary>
    public static async Task<Chatter> EnterAsync(LocalTopology topology, string domain, string user, string nick, bool creator = false, string? room = null)
    {
        var host = topology.Description.Host(domain);
        var account = host.Users.Single(account => account.Jid == $"{user}@{domain}");
        var client = await XmppTestClient.ConnectAsync(topology.ClientEndpoint(host), account.Jid, account.Password);
        room ??= topology.Description.Room;
        var participant = await RoomParticipant.EnterAsync(client, room, nick, TimeSpan.FromSeconds(30));
        if (creator) await client.ConfigureRoomAsync(room, ("muc#roomconfig_persistentroom", "1"));
        return new Chatter(participant, domain);
    }

    public RoomParticipant Participant { get; } = participant;
    public string Host { get; } = host;
    private readonly Dictionary<string, TimeSpan> _sentAt = new();
    private (TimeSpan From, TimeSpan To)? _mayBeLost;

    /// <summary>The bodies said, in order; each message's id is its body.</summary>
    public List<string> Sent { get; } = [];

    /// <summary>This user's server hands messages sent in this interval to the node that is being killed.</summary>
    public void MayBeLostBetween(TimeSpan from, TimeSpan to) => _mayBeLost = (from, to);

    /// <summary>What this user sent while its own node was dying, and got neither echo nor error for.</summary>
    public IEnumerable<string> InFlightAtTheCrash() => _mayBeLost is var (from, to)
        ? Sent.Where(body => _sentAt[body] >= from && _sentAt[body] <= to && !WasEchoed(body) && !WasRefused(body))
        : [];

    public static bool IsTestMessage(string body) => body.Contains(" says ", StringComparison.Ordinal);

    public static int NumberOf(string body) => int.Parse(body[(body.LastIndexOf(' ') + 1)..]);

    /// <summary>Says a message every <see cref="SendEvery"/> until <paramref name="stopSendingAt"/>, and takes in what arrives until <paramref name="endAt"/>.</summary>
    public async Task RunAsync(Stopwatch clock, TimeSpan stopSendingAt, TimeSpan endAt)
    {
        while (clock.Elapsed < endAt)
        {
            if (clock.Elapsed < stopSendingAt)
            {
                var body = $"{Participant.Nick} says {Sent.Count + 1}";
                Sent.Add(body);
                _sentAt[body] = clock.Elapsed;
                try
                {
                    await Participant.SendGroupchatAsync(body, id: body.Replace(' ', '-'));
                }
                catch (IOException)
                {
                    // The user's server dropped the stream: the message never left, and the check below says so.
                }
            }
            await Participant.CatchUpAsync();
            await Task.Delay(SendEvery);
        }
    }

    public bool WasEchoed(string body) => Participant.Seen.Any(stanza => IsGroupchatBody(stanza, body)
        && (string?)stanza.Attribute("from") == Participant.OccupantJid);

    public bool WasRefused(string body) => Participant.Seen.Any(stanza => stanza.Name.LocalName == "message"
        && (string?)stanza.Attribute("type") == "error" && (string?)stanza.Attribute("id") == body.Replace(' ', '-'));

    public bool HasEveryOutcome => Sent.Except(InFlightAtTheCrash()).All(body => WasEchoed(body) || WasRefused(body));

    public List<string> TestMessages() => TestMessagesIn(Participant.Seen);

    /// <summary><see cref="TestMessages"/> without resends after a crash (<see cref="MucClientSteps.WithoutResends"/>).</summary>
    public List<string> TestMessagesWithoutResends() => TestMessagesIn(WithoutResends(Participant.Seen, Participant.Room));

    /// <summary>How many copies of <paramref name="body"/> this chatter got, not counting resends (<see cref="TestMessagesWithoutResends"/>).</summary>
    public int CopiesWithoutResends(string body) => TestMessagesWithoutResends().Count(copy => copy == body);

    private static List<string> TestMessagesIn(IEnumerable<XElement> stanzas) => stanzas
        .Where(stanza => stanza.Name.LocalName == "message" && (string?)stanza.Attribute("type") == "groupchat")
        .Select(stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value).OfType<string>().Where(IsTestMessage).ToList();

    /// <summary>
    /// Waits until every message of <paramref name="senders"/> is echoed or refused at its sender and every echoed one has
    /// reached everyone (failing with <see cref="Report"/> after <paramref name="within"/>), then 5 s more, so that whatever
    /// would still arrive twice has had time to.
    /// </summary>
    public static async Task SettleAsync(IReadOnlyList<Chatter> senders, IReadOnlyList<Chatter> everyone, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (!everyone.All(chatter => chatter.HasEveryOutcome && Echoed(senders).All(body => chatter.Participant.CopiesOf(body) > 0)))
        {
            Xunit.Assert.True(deadline.Elapsed < within, Report(senders, everyone));
            foreach (var chatter in everyone) await chatter.Participant.CatchUpAsync();
            await Task.Delay(500);
        }
        await Task.Delay(TimeSpan.FromSeconds(5));
        foreach (var chatter in everyone) await chatter.Participant.CatchUpAsync();
    }

    /// <summary>Every message one of <paramref name="senders"/> saw echoed.</summary>
    public static HashSet<string> Echoed(IEnumerable<Chatter> senders) => senders.SelectMany(sender => sender.Sent.Where(sender.WasEchoed)).ToHashSet();

    /// <summary>What each sender sent and what came of it, and what each participant received.</summary>
    public static string Report(IEnumerable<Chatter> senders, IEnumerable<Chatter> everyone) =>
        string.Join("\n", senders.Select(sender =>
                $"{sender.Participant.Nick}: sent {sender.Sent.Count}, echoed {sender.Sent.Count(sender.WasEchoed)}, refused {sender.Sent.Count(sender.WasRefused)}, " +
                $"neither: {string.Join(", ", sender.Sent.Where(sent => !sender.WasEchoed(sent) && !sender.WasRefused(sent)))} " +
                $"(sent into the crash: {string.Join(", ", sender.InFlightAtTheCrash())})")
            .Concat(everyone.Select(chatter => $"{chatter.Participant.Nick} received {chatter.TestMessages().Count} test messages, " +
                                               $"{chatter.TestMessages().Distinct().Count()} distinct, " +
                                               $"{chatter.TestMessages().Count - chatter.TestMessagesWithoutResends().Count} resent after a crash")));
}
