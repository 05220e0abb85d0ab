using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>A room under test: sends stanzas through Process, applies the events like the actor does.</summary>
internal sealed class TestRoom
{
    public const string Room = "room@conference.localhost";
    public const string Owner = "owner@localhost/desk";
    public static readonly Jid RoomJid = Jid.Parse(Room);

    public TestRoom(MucServiceOptions? options = null)
    {
        // Without a stanza rate, whose counting would add an event to every message; OccupantStanzaRateTests covers it.
        Options = options ?? new MucServiceOptions("conference.localhost", new HashSet<Jid> { Jid.Parse("admin@localhost") }) { OccupantStanzaRate = null };
        State = new RoomState(RoomJid, Options);
    }

    public MucServiceOptions Options { get; }
    public RoomState State { get; private set; }
    public DateTimeOffset Now { get; set; } = new(2024, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A room created by <see cref="Owner"/> as "Owner" and unlocked with the given config fields.</summary>
    public static TestRoom Created(params (string Field, string Value)[] config)
    {
        var room = new TestRoom();
        room.Join(Owner, "Owner");
        room.Configure(config);
        return room;
    }

    /// <summary>This room as a node restarted from its snapshot (through JSON, as stored) has it.</summary>
    public TestRoom Restored()
    {
        var snapshot = System.Text.Json.JsonSerializer.Deserialize<RoomSnapshot>(System.Text.Json.JsonSerializer.Serialize(State.ToSnapshot()))!;
        return new TestRoom(Options) { State = RoomState.FromSnapshot(RoomJid, Options, snapshot), Now = Now };
    }

    public Decision Send(string xml) => Send(Stanza(xml));

    public Decision Send(XElement stanza) => Run(new HandleStanza(stanza, Now));

    public Decision Run(RoomCommand command)
    {
        Now = Now.AddSeconds(1);
        var decision = State.Process(command);
        foreach (var @event in decision.Events) State.Apply(@event);
        return decision;
    }

    public Decision Join(string fullJid, string nick, string mucPayload = "") =>
        Send($"<presence from='{fullJid}' to='{Room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>{mucPayload}</x></presence>");

    public Decision Leave(string fullJid, string nick) =>
        Send($"<presence from='{fullJid}' to='{Room}/{nick}' type='unavailable'/>");

    public Decision Say(string fullJid, string body, string id = "m1") =>
        Send($"<message from='{fullJid}' to='{Room}' type='groupchat' id='{id}'><body>{body}</body></message>");

    public Decision Configure(params (string Field, string Value)[] fields) =>
        ConfigureMultiValued(fields.Select(field => (field.Field, new[] { field.Value })).ToArray());

    public Decision ConfigureMultiValued(params (string Field, string[] Values)[] fields) => Send(
        $"""
        <iq from='{Owner}' to='{Room}' type='set' id='config'>
          <query xmlns='http://jabber.org/protocol/muc#owner'>
            <x xmlns='jabber:x:data' type='submit'>
              <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
              {string.Concat(fields.Select(field => $"<field var='{field.Field}'>{string.Concat(field.Values.Select(value => $"<value>{value}</value>"))}</field>"))}
            </x>
          </query>
        </iq>
        """);

    public Decision Admin(string fromJid, string itemAttributes, string itemContent = "") => Send(
        $"<iq from='{fromJid}' to='{Room}' type='set' id='admin'><query xmlns='http://jabber.org/protocol/muc#admin'><item {itemAttributes}>{itemContent}</item></query></iq>");

    /// <summary>Parses stanza XML written without namespaces into jabber:client.</summary>
    public static XElement Stanza(string xml) =>
        XElement.Parse($"<wrapper xmlns='jabber:client'>{xml}</wrapper>").Elements().Single();
}

internal static class DecisionAssertions
{
    public static List<XElement> To(this Decision decision, string jid) =>
        decision.Deliveries.Where(delivery => delivery.To == Jid.Parse(jid)).Select(delivery => delivery.Stanza).ToList();

    /// <summary>Asserts <paramref name="actual"/> matches <paramref name="expectedXml"/> by scansion's rules.</summary>
    public static void Matches(string expectedXml, XElement actual)
    {
        var expected = XElement.Parse($"<wrapper xmlns='jabber:client' xmlns:scansion='{ScansionMatcher.Scansion}'>{expectedXml}</wrapper>").Elements().Single();
        Assert.True(ScansionMatcher.Matches(expected, actual), $"expected\n{expected}\nactual\n{actual}");
    }

    public static void SingleMatching(this Decision decision, string jid, string expectedXml) =>
        Matches(expectedXml, Assert.Single(decision.To(jid)));

    public static void HasError(this Decision decision, string jid, string condition, string? type = null)
    {
        var reply = Assert.Single(decision.To(jid));
        Assert.Equal("error", reply.Attribute("type")?.Value);
        var error = reply.Element(Ns.Client + "error");
        Assert.NotNull(error);
        Assert.NotNull(error.Element(Ns.Stanzas + condition));
        if (type is not null) Assert.Equal(type, error.Attribute("type")?.Value);
    }

    public static XElement? MucUser(this XElement stanza) => stanza.Element(Ns.MucUser + "x");

    public static IEnumerable<string> StatusCodes(this XElement stanza) =>
        stanza.MucUser()?.Elements(Ns.MucUser + "status").Select(status => status.Attribute("code")!.Value) ?? [];
}
