using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Actors.Tests;

/// <summary>The node's query of what its server last handed a room's sessions (docs/protocol/delivered.md).</summary>
public sealed class DeliveredQueriesTests
{
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task The_servers_answer_names_each_session_s_last_stanza_id_and_is_taken_out_of_the_stream()
    {
        var queries = new DeliveredQueries();
        var (query, answer) = queries.Ask(Room, Long);

        Assert.Equal(("get", "channel.avalon.irc", "channel.avalon.irc", Room.ToString()),
            ((string?)query.Attribute("type"), (string?)query.Attribute("from"), (string?)query.Attribute("to"),
                (string?)query.Element(DeliveredProtocol.Ns + "delivered")?.Attribute("room")));
        Assert.True(queries.TakeAnswer(Result(query, Room, ("trillian@avalon.irc/terminal", "s7"), ("blondeboy@avalon.irc/terminal", "s9"))));

        var got = await answer;
        Assert.Equal("s7", got?.Of(Jid.Parse("trillian@avalon.irc/terminal")));
        Assert.Equal("s9", got?.Of(Jid.Parse("blondeboy@avalon.irc/terminal")));
        Assert.Null(got?.Of(Jid.Parse("cerebus@avalon.irc/terminal")));
    }

    [Fact]
    public async Task A_server_that_cannot_say_routes_the_query_back_or_answers_an_error_and_each_reads_as_null()
    {
        var queries = new DeliveredQueries();
        var (comeBack, backAnswer) = queries.Ask(Room, Long);
        var (refused, errorAnswer) = queries.Ask(Room, Long);
        var (otherRoom, otherRoomAnswer) = queries.Ask(Room, Long);

        // A Prosody without the module (and ejabberd) hands the component its own iq to its own domain.
        Assert.True(queries.TakeAnswer(new XElement(comeBack)));
        Assert.True(queries.TakeAnswer(new XElement(Ns.Client + "iq", new XAttribute("type", "error"), refused.Attribute("id"),
            new XElement(Ns.Client + "error", new XAttribute("type", "cancel"), new XElement(Ns.Stanzas + "service-unavailable")))));
        Assert.True(queries.TakeAnswer(Result(otherRoom, Jid.Parse("other@channel.avalon.irc"), ("trillian@avalon.irc/terminal", "s7"))));

        Assert.All(await Task.WhenAll(backAnswer, errorAnswer, otherRoomAnswer), Assert.Null);
    }

    [Fact]
    public async Task A_query_unanswered_in_time_reads_as_null_and_its_late_answer_is_still_kept_off_the_rooms()
    {
        var queries = new DeliveredQueries();
        var (query, answer) = queries.Ask(Room, TimeSpan.FromMilliseconds(50));

        Assert.Null(await answer.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(queries.Waiting());
        Assert.True(queries.TakeAnswer(Result(query, Room, ("trillian@avalon.irc/terminal", "s7"))));
    }

    [Fact]
    public void Only_answers_to_its_own_ids_are_taken_and_waiting_queries_are_asked_again_on_the_next_stream()
    {
        var queries = new DeliveredQueries();
        var (query, _) = queries.Ask(Room, Long);

        Assert.False(queries.TakeAnswer(new XElement(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", "dmuc-multicast-1"))));
        Assert.False(queries.TakeAnswer(new XElement(Ns.Client + "message", query.Attribute("id"))));
        Assert.Equal([query.ToString()], queries.Waiting().Select(waiting => waiting.ToString()));
    }

    private static XElement Result(XElement query, Jid room, params (string Session, string StanzaId)[] sessions) =>
        new(Ns.Client + "iq", new XAttribute("type", "result"), query.Attribute("id"),
            new XAttribute("from", room.Domain), new XAttribute("to", room.Domain),
            new XElement(DeliveredProtocol.Ns + "delivered", new XAttribute("room", room.ToString()),
                sessions.Select(session => new XElement(DeliveredProtocol.Ns + "session",
                    new XAttribute("jid", session.Session), new XAttribute("last-stanza-id", session.StanzaId)))));
}
