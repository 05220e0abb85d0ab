using System.Xml.Linq;

namespace Dmuc.Integration.Tests.Xmpp;

/// <summary>What a MUC user does and waits for, over a real client connection.</summary>
public static class MucClientSteps
{
    public static readonly XNamespace Muc = "http://jabber.org/protocol/muc";
    public static readonly XNamespace MucUser = "http://jabber.org/protocol/muc#user";
    public static readonly XNamespace MucOwner = "http://jabber.org/protocol/muc#owner";
    public static readonly XNamespace DataForms = "jabber:x:data";
    public static readonly XNamespace Delay = "urn:xmpp:delay";
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <paramref name="stanzas"/> without resends of <paramref name="room"/>'s messages: a later groupchat copy delayed (XEP-0203)
    /// with the first copy's body and stanza-id (XEP-0359), as a client drops it by that id. A room recovered after its node's
    /// crash resends its own host's users what came after its last journaled receipt (docs/protocol/netjoin.md §5: at least
    /// once); a second copy of any other kind stays.
    /// </summary>
    public static IEnumerable<XElement> WithoutResends(IEnumerable<XElement> stanzas, string room)
    {
        var firstStanzaIds = new Dictionary<string, string?>();
        foreach (var stanza in stanzas)
        {
            var body = stanza.Name.LocalName == "message" && (string?)stanza.Attribute("type") == "groupchat"
                ? stanza.Element(XmppNamespaces.Client + "body")?.Value : null;
            if (body is null)
            {
                yield return stanza;
                continue;
            }
            var stanzaId = (string?)stanza.Elements(XmppNamespaces.StanzaId + "stanza-id").FirstOrDefault(id => (string?)id.Attribute("by") == room)?.Attribute("id");
            if (firstStanzaIds.TryGetValue(body, out var first) && stanzaId is not null && stanzaId == first && stanza.Element(Delay + "delay") is not null)
                continue;
            firstStanzaIds.TryAdd(body, stanzaId);
            yield return stanza;
        }
    }

    /// <summary>Everything received up to and including the first stanza that matches.</summary>
    public static async Task<List<XElement>> ReceiveUntilAsync(this XmppTestClient client, Func<XElement, bool> matches, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? StepTimeout);
        var received = new List<XElement>();
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var next = left > TimeSpan.Zero ? await client.TryReceiveAsync(left) : null;
            if (next is null)
            {
                throw new TimeoutException($"{client.FullJid}: the expected stanza did not arrive; received instead:\n" +
                    string.Join("\n", received));
            }
            received.Add(next);
            if (matches(next)) return received;
        }
    }

    /// <summary>Joins and returns what the room sent up to the end of the join (the subject, XEP-0045 §7.2.15).</summary>
    public static async Task<List<XElement>> JoinRoomAsync(this XmppTestClient client, string room, string nick, TimeSpan? timeout = null)
    {
        await client.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{room}/{nick}"),
            new XElement(Muc + "x")));
        return await client.ReceiveUntilAsync(stanza => stanza.Name.LocalName == "message" && stanza.Element(XmppNamespaces.Client + "subject") is not null,
            timeout);
    }

    /// <summary>Logs in as <paramref name="jid"/>, creates <paramref name="room"/> as <paramref name="nick"/> and unlocks it
    /// with the given configuration: the room's owner, ready.</summary>
    public static async Task<XmppTestClient> ConnectAsRoomOwnerAsync(this XmppServerEndpoint server, string jid, string room, string nick,
        params (string Field, string Value)[] configuration)
    {
        var owner = await XmppTestClient.ConnectAsync(server, jid, "x");
        try
        {
            await owner.JoinRoomAsync(room, nick);
            await owner.ConfigureRoomAsync(room, configuration);
            return owner;
        }
        catch
        {
            await owner.DisposeAsync();
            throw;
        }
    }

    /// <summary>The owner submits the room configuration form (which also unlocks a new room).</summary>
    public static async Task ConfigureRoomAsync(this XmppTestClient owner, string room, params (string Field, string Value)[] fields)
    {
        var reply = await owner.SubmitRoomConfigurationAsync(room, fields);
        if ((string?)reply.Attribute("type") != "result") throw new InvalidOperationException($"The room refused its configuration: {reply}");
    }

    /// <summary>Submits the room configuration form and returns the room's answer, whatever it is.</summary>
    public static async Task<XElement> SubmitRoomConfigurationAsync(this XmppTestClient owner, string room, params (string Field, string Value)[] fields)
    {
        var form = new XElement(DataForms + "x", new XAttribute("type", "submit"),
            Field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"),
            fields.Select(field => Field(field.Field, field.Value)));
        await owner.SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("to", room), new XAttribute("type", "set"),
            new XAttribute("id", "configure"), new XElement(MucOwner + "query", form)));
        return (await owner.ReceiveUntilAsync(IsReplyTo("configure")))[^1];
    }

    public static async Task SetSubjectAsync(this XmppTestClient client, string room, string subject)
    {
        await client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", room), new XAttribute("type", "groupchat"),
            new XElement(XmppNamespaces.Client + "subject", subject)));
        await client.ReceiveUntilAsync(stanza => stanza.Element(XmppNamespaces.Client + "subject")?.Value == subject);
    }

    /// <summary>Sends a groupchat message and waits for the room's echo of it.</summary>
    public static async Task SayAsync(this XmppTestClient client, string room, string body)
    {
        await client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", room), new XAttribute("type", "groupchat"),
            new XElement(XmppNamespaces.Client + "body", body)));
        await client.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, body));
    }

    public static bool IsGroupchatBody(XElement stanza, string body) =>
        stanza.Name.LocalName == "message" && (string?)stanza.Attribute("type") == "groupchat" &&
        stanza.Element(XmppNamespaces.Client + "body")?.Value == body;

    public static Func<XElement, bool> IsReplyTo(string id) =>
        stanza => stanza.Name.LocalName == "iq" && (string?)stanza.Attribute("id") == id;

    public static bool HasStatus(XElement stanza, int code) =>
        stanza.Element(MucUser + "x")?.Elements(MucUser + "status").Any(status => (string?)status.Attribute("code") == code.ToString()) == true;

    private static XElement Field(string name, string value) =>
        new(DataForms + "field", new XAttribute("var", name), new XElement(DataForms + "value", value));
}
