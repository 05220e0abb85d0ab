using System.Diagnostics;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Configuration;
using Dmuc.Actors.Component;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.PersistBench;

/// <summary>A room directory on its own actor system and SQLite journal, configured as the node configures it.</summary>
internal sealed class BenchNode : IAsyncDisposable
{
    public const string Service = "conference.localhost";
    public const string Owner = "owner@localhost/desk";
    // One user floods the room, or creates every room, on purpose: no stanza rate, no room quota.
    private static readonly MucServiceOptions Options = new(Service, new HashSet<Jid>())
        { OccupantStanzaRate = null, RoomsPerCreator = null, RoomCreationRate = null };
    private static readonly Config Quiet = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.log-dead-letters = off");

    private readonly ActorSystem _system;
    private readonly IActorRef _directory;
    private int _iqs;

    /// <param name="idleTimeout">How long an unused room stays in memory; by default it stays for the whole run.</param>
    public BenchNode(string dataDirectory, IStanzaSink sink, int snapshotEvery, TimeSpan? idleTimeout = null)
    {
        var config = Quiet.WithFallback(JournalHosting.RoomJournalConfig(JournalOptions.SqliteIn(dataDirectory)));
        _system = ActorSystem.Create("bench", config);
        var settings = new RoomActorSettings(snapshotEvery, IdleTimeout: idleTimeout ?? TimeSpan.FromHours(1));
        _directory = _system.ActorOf(RoomDirectory.Props(Options, sink, new ClusterHosts(ownHost: null), settings), RoomDirectory.Name);
    }

    public static string RoomName(int index) => $"room{index}@{Service}";

    public void Send(XElement stanza) => _directory.Tell(new RouteStanza(stanza));

    /// <summary>Creates a persistent room with the owner as its only occupant, so each message has one echo.</summary>
    public async Task CreateRoomAsync(string room)
    {
        SendCreation(room, isPublic: false);
        await InspectAsync(room);
    }

    /// <summary>Sends what makes a public persistent room the owner then leaves: it is idle from then on. Does not wait.</summary>
    public void SendIdleRoomCreation(string room)
    {
        SendCreation(room, isPublic: true);
        Send(Stanza($"<presence from='{Owner}' to='{room}/Owner' type='unavailable'/>"));
    }

    private void SendCreation(string room, bool isPublic)
    {
        Send(Stanza($"<presence from='{Owner}' to='{room}/Owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
        Send(Stanza($"""
            <iq from='{Owner}' to='{room}' type='set' id='config'><query xmlns='http://jabber.org/protocol/muc#owner'>
              <x xmlns='jabber:x:data' type='submit'>
                <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
                <field var='muc#roomconfig_persistentroom'><value>1</value></field>
                <field var='muc#roomconfig_publicroom'><value>{(isPublic ? 1 : 0)}</value></field>
              </x></query></iq>
            """));
    }

    public void SendJoin(string room, string user, string nick) =>
        Send(Stanza($"<presence from='{user}' to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));

    public static XElement Message(string room, int index) =>
        Stanza($"<message from='{Owner}' to='{room}' type='groupchat' id='m{index}'><body>message number {index}</body></message>");

    /// <summary>How long the room takes to answer its first question: recovery from the journal, when it has just started.</summary>
    public async Task<(TimeSpan Elapsed, long SequenceNr)> TimeRecoveryAsync(string room)
    {
        var clock = Stopwatch.StartNew();
        var inspection = await InspectAsync(room);
        return (clock.Elapsed, inspection.JournalSequenceNr);
    }

    /// <summary>How many rooms the directory lists, and how many of them are in memory now.</summary>
    public async Task<(int Listed, int InMemory)> CountRoomsAsync()
    {
        var list = await _directory.Ask<RoomList>(new ListRooms(After: null, Limit: int.MaxValue), TimeSpan.FromMinutes(1));
        return (list.Total ?? 0, list.Active?.Count ?? 0);
    }

    /// <summary>One page of the rooms the management API lists (<c>dmuc rooms list</c>).</summary>
    public Task<RoomList> ListRoomsAsync(string? after, int limit) =>
        _directory.Ask<RoomList>(new ListRooms(after, limit), TimeSpan.FromMinutes(1));

    /// <summary>One page of the service's disco#items (XEP-0059), as a client asks for it; the answer comes through <paramref name="sink"/>.</summary>
    public async Task<XElement> DiscoItemsAsync(CountingSink sink, string? after, int max)
    {
        var id = $"disco-{Interlocked.Increment(ref _iqs)}";
        var answer = sink.AnswerTo(id);
        Send(new XElement(Client + "iq", new XAttribute("from", Owner), new XAttribute("to", Service), new XAttribute("type", "get"), new XAttribute("id", id),
            new XElement(DiscoItems + "query", new XElement(Rsm + "set", new XElement(Rsm + "max", max), after is null ? null : new XElement(Rsm + "after", after)))));
        return await answer.WaitAsync(TimeSpan.FromMinutes(5));
    }

    private static readonly XNamespace Client = "jabber:client";
    private static readonly XNamespace DiscoItems = "http://jabber.org/protocol/disco#items";
    public static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";

    /// <summary>Once every listing change handed to the room index so far is in the journal (the node's shutdown waits for the same).</summary>
    public Task FlushRoomIndexAsync() =>
        _system.ActorSelection($"/user/{RoomDirectory.Name}/index").Ask<Akka.Done>(RoomIndex.FlushRoomIndex.Instance, TimeSpan.FromMinutes(10));

    public Task<RoomInspection> InspectAsync(string room) =>
        _directory.Ask<RoomInspection>(new InspectRoom(Jid.Parse(room)), TimeSpan.FromMinutes(5));

    private static XElement Stanza(string xml) =>
        XElement.Parse($"<wrapper xmlns='jabber:client'>{xml}</wrapper>").Elements().Single();

    public async ValueTask DisposeAsync() => await _system.Terminate();
}
