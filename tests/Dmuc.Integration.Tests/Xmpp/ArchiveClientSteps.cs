using System.Xml.Linq;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Xmpp;

/// <summary>One page of a room archive query as a client received it (XEP-0313).</summary>
public sealed record ArchiveResultPage(List<XElement> Messages, List<string> Ids, bool Complete, XElement Set)
{
    public List<string> Bodies => Messages.Select(message => message.Element(XmppNamespaces.Client + "body")!.Value).ToList();
}

/// <summary>What a client does to read a room's archive (XEP-0313 with XEP-0059 paging).</summary>
public static class ArchiveClientSteps
{
    public static readonly XNamespace Mam = "urn:xmpp:mam:2";
    public static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";
    private static readonly XNamespace Forward = "urn:xmpp:forward:0";
    private static readonly XNamespace StanzaIds = "urn:xmpp:sid:0";

    /// <summary>Says something in the room and returns the room's stanza-id of it (the archive's id), from the echo.</summary>
    public static async Task<string> SayAndGetStanzaIdAsync(this XmppTestClient client, string room, string body)
    {
        await client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", room), new XAttribute("type", "groupchat"),
            new XElement(XmppNamespaces.Client + "body", body)));
        var echo = (await client.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, body)))[^1];
        return (string)echo.Element(StanzaIds + "stanza-id")!.Attribute("id")!;
    }

    /// <summary>A submitted urn:xmpp:mam:2 form with the given fields.</summary>
    public static XElement ArchiveForm(params (string Field, string Value)[] fields) =>
        new(DataForms + "x", new XAttribute("type", "submit"),
            new XElement(DataForms + "field", new XAttribute("var", "FORM_TYPE"), new XElement(DataForms + "value", Mam.NamespaceName)),
            fields.Select(field => new XElement(DataForms + "field", new XAttribute("var", field.Field), new XElement(DataForms + "value", field.Value))));

    /// <summary>An RSM set: at most <paramref name="max"/>, and &lt;before/&gt; (empty for the last page) or &lt;after/&gt;.</summary>
    public static XElement Page(int? max = null, string? before = null, string? after = null) =>
        new(Rsm + "set", max is null ? null : new XElement(Rsm + "max", max), before is null ? null : new XElement(Rsm + "before", before),
            after is null ? null : new XElement(Rsm + "after", after));

    /// <summary>Runs a query and collects its results up to the final iq, which must be a result with &lt;fin/&gt;.</summary>
    public static async Task<ArchiveResultPage> QueryArchiveAsync(this XmppTestClient client, string room, string id, params XElement[] content)
    {
        await SendQueryAsync(client, room, id, content);
        var received = await client.ReceiveUntilAsync(IsReplyTo(id));
        var fin = received[^1].Element(Mam + "fin") ?? throw new InvalidOperationException($"No <fin/> in {received[^1]}");
        var results = received.Select(stanza => stanza.Element(Mam + "result")).OfType<XElement>()
            .Where(result => (string?)result.Attribute("queryid") == id).ToList();
        return new ArchiveResultPage(
            results.Select(result => result.Element(Forward + "forwarded")!.Element(XmppNamespaces.Client + "message")!).ToList(),
            results.Select(result => (string)result.Attribute("id")!).ToList(),
            (string?)fin.Attribute("complete") == "true",
            fin.Element(Rsm + "set")!);
    }

    /// <summary>Runs a query that must fail and returns the error stanza.</summary>
    public static async Task<XElement> QueryArchiveExpectingErrorAsync(this XmppTestClient client, string room, string id, params XElement[] content)
    {
        await SendQueryAsync(client, room, id, content);
        var reply = (await client.ReceiveUntilAsync(IsReplyTo(id)))[^1];
        if ((string?)reply.Attribute("type") != "error") throw new InvalidOperationException($"The query succeeded: {reply}");
        return reply;
    }

    /// <summary>The defined condition of an error stanza.</summary>
    public static string? ErrorCondition(XElement reply) =>
        reply.Element(XmppNamespaces.Client + "error")?.Elements().First().Name.LocalName;

    private static Task SendQueryAsync(XmppTestClient client, string room, string id, XElement[] content) =>
        client.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", room), new XAttribute("type", "set"), new XAttribute("id", id),
            new XElement(Mam + "query", new XAttribute("queryid", id), content)));
}
