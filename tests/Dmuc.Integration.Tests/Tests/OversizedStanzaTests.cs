using System.Diagnostics;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Xmpp;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// Issue 9: a stanza that one user gets through the XMPP server costs that user alone. Each input is sent by one
/// occupant once a second while two others chat: they lose nothing, the sender gets its message back or an error
/// for it, and the node's component stream never reconnects. The inputs once ended the stream; the sizes in the
/// comments are what the server forwards to the component (measured with Prosody 0.12.3 and ejabberd 23.01).
/// </summary>
public sealed class OversizedStanzaTests(ITestOutputHelper output)
{
    private const string Host = "verona.localhost";
    private const string MucDomain = "conference." + Host;
    private const string Room = "square@" + MucDomain;
    private const int Repetitions = 5;
    private const int ChatMessagesPerSecondEach = 10;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(20);

    public enum Outcome
    {
        /// <summary>The room takes it like any message: everyone, the sender too, gets it.</summary>
        Delivered,

        /// <summary>Dmuc refuses it to the sender with a policy-violation naming the limit.</summary>
        OverDmucLimit,

        /// <summary>Dmuc refuses it to the sender with a bad-request: the server forwarded undeclared prefixes.</summary>
        BadNamespacesForDmuc,

        /// <summary>The XMPP server's own client limit cuts the sender's stream before Dmuc sees anything.</summary>
        CutByServer,
    }

    public enum Input
    {
        /// <summary>A groupchat message nested 70 deep: 610 bytes, over the depth limit of 64.</summary>
        Nested70Deep,

        /// <summary>45,000 apostrophes: 45,087 bytes from the client, 270,126 after the server writes each as &amp;apos;.</summary>
        Apostrophes45000,

        /// <summary>A body of 262,130 plain bytes: 262,256 bytes.</summary>
        PlainBody262130,

        /// <summary>Apostrophes up to Prosody's client limit of 256 KiB: 1,572,451 bytes, under the default limit (2 MiB).</summary>
        ApostrophesAtProsodyLimit,

        /// <summary>
        /// 2,000 elements with attributes in one prefixed namespace whose name is 2,000 bytes long: 44,993 bytes from
        /// the client; Prosody declares the namespace again on every attribute, 8,119,017 bytes; ejabberd drops the
        /// declaration and forwards the prefixes unbound.
        /// </summary>
        NamespaceAmplification,

        /// <summary>A body of 3,000,000 bytes: over Prosody's client limit; ejabberd (no max_stanza_size here) forwards it.</summary>
        PlainBody3MB,
    }

    /// <summary>Each input and what becomes of it through Prosody and through ejabberd.</summary>
    private static readonly (Input Input, Outcome Prosody, Outcome Ejabberd)[] Cases =
    [
        (Input.Nested70Deep, Outcome.OverDmucLimit, Outcome.OverDmucLimit),
        (Input.Apostrophes45000, Outcome.Delivered, Outcome.Delivered),
        (Input.PlainBody262130, Outcome.Delivered, Outcome.Delivered),
        (Input.ApostrophesAtProsodyLimit, Outcome.Delivered, Outcome.Delivered),
        (Input.NamespaceAmplification, Outcome.OverDmucLimit, Outcome.BadNamespacesForDmuc),
        (Input.PlainBody3MB, Outcome.CutByServer, Outcome.OverDmucLimit),
    ];

    public static TheoryData<Input, Outcome> ThroughProsody => Through(@case => @case.Prosody);

    public static TheoryData<Input, Outcome> ThroughEjabberd => Through(@case => @case.Ejabberd);

    [Theory]
    [MemberData(nameof(ThroughProsody))]
    public Task Through_Prosody_a_bad_stanza_costs_only_its_sender(Input input, Outcome outcome) =>
        RunAsync(ejabberd: false, input, outcome);

    [EjabberdTheory]
    [Trait("Category", "Ejabberd")]
    [MemberData(nameof(ThroughEjabberd))]
    public Task Through_ejabberd_a_bad_stanza_costs_only_its_sender(Input input, Outcome outcome) =>
        RunAsync(ejabberd: true, input, outcome);

    /// <summary>The node's setting is what decides: 45,000 apostrophes arrive as 270,126 bytes.</summary>
    [Fact]
    public Task A_lower_Dmuc_MaxStanzaBytes_refuses_what_the_default_lets_through() =>
        RunAsync(ejabberd: false, Input.Apostrophes45000, Outcome.OverDmucLimit, new Dictionary<string, string?> { ["Dmuc:MaxStanzaBytes"] = "200000" });

    private static TheoryData<Input, Outcome> Through(Func<(Input Input, Outcome Prosody, Outcome Ejabberd), Outcome> outcomeOf)
    {
        var data = new TheoryData<Input, Outcome>();
        foreach (var @case in Cases) data.Add(@case.Input, outcomeOf(@case));
        return data;
    }

    private async Task RunAsync(bool ejabberd, Input input, Outcome outcome, IReadOnlyDictionary<string, string?>? nodeSettings = null)
    {
        // The two others chat faster than the per-user flood limit allows: this test is about bad stanzas, not floods.
        var settings = new Dictionary<string, string?>(nodeSettings ?? new Dictionary<string, string?>()) { ["Dmuc:Limits:OccupantStanzasPerSecond"] = "0" };
        await using var deployment = await MultiHostEnvironment.StartAsync(MucDomain, Host, [], [], ejabberdHosts: ejabberd ? [Host] : null,
            nodeSettings: _ => settings);
        await deployment.PlayAsync(started => PlayAsync(started, input, outcome), output.WriteLine);
    }

    private static async Task PlayAsync(MultiHostEnvironment deployment, Input input, Outcome outcome)
    {
        var server = deployment.Server(Host);
        await using var alice = await RoomParticipant.EnterAsync(await ConnectAsync(server, "alice"), Room, "Alice", Step);
        await alice.Client.ConfigureRoomAsync(Room);
        await using var bob = await RoomParticipant.EnterAsync(await ConnectAsync(server, "bob"), Room, "Bob", Step);
        await using var mallory = await ConnectAsync(server, "mallory");
        await mallory.JoinRoomAsync(Room, "Mallory", Step);
        var handshakesBefore = server.ComponentHandshakes();

        var chat = Task.WhenAll(ChatAsync(alice), ChatAsync(bob));
        await (outcome == Outcome.CutByServer ? AssertCutAsync(mallory, input) : SendRepeatedlyAsync(mallory, input, outcome));
        var sent = await chat;

        var everything = sent.SelectMany(bodies => bodies).ToList();
        foreach (var participant in new[] { alice, bob })
        {
            foreach (var last in sent.Select(bodies => bodies[^1]))
                await participant.WaitForAsync(stanza => IsGroupchatBody(stanza, last), Step);
            await participant.CatchUpAsync();
            Assert.All(everything, body => Assert.Equal(1, participant.CopiesOf(body)));
        }
        await alice.Client.SayAsync(Room, "still here");
        Assert.Equal(handshakesBefore, server.ComponentHandshakes());
    }

    private static Task<XmppTestClient> ConnectAsync(XmppHostServer server, string user) =>
        XmppTestClient.ConnectAsync(server.ClientEndpoint, $"{user}@{Host}/phone", "password");

    /// <summary>Sends at a steady rate for as long as the bad stanza is being sent; returns the bodies sent.</summary>
    private static async Task<List<string>> ChatAsync(RoomParticipant participant)
    {
        var bodies = new List<string>();
        var interval = TimeSpan.FromSeconds(1.0 / ChatMessagesPerSecondEach);
        var clock = Stopwatch.StartNew();
        for (var i = 0; clock.Elapsed < TimeSpan.FromSeconds(Repetitions); i++)
        {
            var body = $"{participant.Nick} #{i}";
            await participant.SendGroupchatAsync(body);
            bodies.Add(body);
            var due = interval * (i + 1) - clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due);
        }
        return bodies;
    }

    /// <summary>Sends the input once a second, each time checking what answers it: its echo, or an error for it.</summary>
    private static async Task SendRepeatedlyAsync(XmppTestClient sender, Input input, Outcome outcome)
    {
        for (var i = 0; i < Repetitions; i++)
        {
            var id = $"{input}-{i}";
            var started = Stopwatch.StartNew();
            await sender.SendAsync(Render(input, id));
            AssertReply(outcome, (await sender.ReceiveUntilAsync(stanza => (string?)stanza.Attribute("id") == id, Step))[^1]);
            var due = TimeSpan.FromSeconds(1) - started.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due);
        }
    }

    private static void AssertReply(Outcome outcome, XElement reply)
    {
        if (outcome == Outcome.Delivered)
        {
            Assert.Equal("groupchat", (string?)reply.Attribute("type"));
            Assert.Equal($"{Room}/Mallory", (string?)reply.Attribute("from"));
            return;
        }
        Assert.Equal("error", (string?)reply.Attribute("type"));
        Assert.Equal(Room, (string?)reply.Attribute("from"));
        var error = reply.Element(XmppNamespaces.Client + "error")!;
        var (condition, text) = outcome == Outcome.OverDmucLimit ? ("policy-violation", "larger than|deeper than") : ("bad-request", "prefix");
        Assert.NotNull(error.Element(Ns.Stanzas + condition));
        Assert.Matches(text, error.Element(Ns.Stanzas + "text")?.Value);
    }

    /// <summary>
    /// The server ends the sender's stream, with a stream error or by dropping the connection under the write, and
    /// the stanza never reaches the room.
    /// </summary>
    private static async Task AssertCutAsync(XmppTestClient sender, Input input)
    {
        var id = $"{input}-cut";
        try
        {
            await sender.SendAsync(Render(input, id));
        }
        catch (IOException)
        {
            // The server reset the connection while the stanza was still being written.
        }
        while (await sender.TryReceiveAsync(Step) is { } received)
        {
            Assert.NotEqual(id, (string?)received.Attribute("id"));
            if (received.Name.Namespace == XmppNamespaces.Streams) Assert.Equal(XmppNamespaces.Streams + "error", received.Name);
        }
        Assert.True(sender.StreamEnded);
    }

    private static string Render(Input input, string id)
    {
        var start = $"<message to='{Room}' type='groupchat' id='{id}'>";
        return input switch
        {
            Input.Nested70Deep => start + string.Concat(Enumerable.Repeat("<a xmlns='urn:example:deep'>", 70)) + "<b/>" +
                                  string.Concat(Enumerable.Repeat("</a>", 70)) + "<body>deep</body></message>",
            Input.Apostrophes45000 => start + $"<body>{new string('\'', 45_000)}</body></message>",
            Input.PlainBody262130 => start + $"<body>{new string('a', 262_130)}</body></message>",
            Input.ApostrophesAtProsodyLimit => start + $"<body>{new string('\'', 262_144 - start.Length - 40)}</body></message>",
            Input.NamespaceAmplification => start.Replace(">", $" xmlns:p='urn:{new string('u', 2_000)}'>") + "<body>ns</body>" +
                                            string.Concat(Enumerable.Range(0, 2_000).Select(i => $"<x p:a{i}='' p:b=''/>")) + "</message>",
            _ => start + $"<body>{new string('a', 3_000_000)}</body></message>",
        };
    }
}
