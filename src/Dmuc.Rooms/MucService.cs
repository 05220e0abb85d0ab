using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>A room as listed in the service's disco#items.</summary>
public sealed record RoomListing(Jid Room, string Name, int Occupants);

/// <summary>Stanzas addressed to the service domain itself (no localpart).</summary>
public static class MucService
{
    /// <param name="publicRooms">The public rooms in the order of their JIDs (ordinal), as disco#items pages through them.</param>
    public static IReadOnlyList<Delivery> HandleServiceStanza(XElement stanza, IReadOnlyList<RoomListing> publicRooms, MucServiceOptions options)
    {
        if (stanza.Name.Namespace != Ns.Client || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return [];
        var type = stanza.Attribute("type")?.Value;
        if (type is "error" or "result" || stanza.Name.LocalName == "presence") return [];
        var query = stanza.Elements().FirstOrDefault();
        var reply = (stanza.Name.LocalName, type, query?.Name) switch
        {
            ("iq", "get", var name) when name == Ns.DiscoInfo + "query" && query!.Attribute("node") is null => Result(stanza, options, ServiceInfo(options)),
            ("iq", "get", var name) when name == Ns.DiscoItems + "query" && query!.Attribute("node") is null => RoomItems(stanza, query, publicRooms, options),
            ("iq", "get", var name) when name == Stanzas.MucUnique + "unique" => Result(stanza, options,
                new XElement(Stanzas.MucUnique + "unique", Guid.NewGuid().ToString("N"))),
            ("iq", "get", var name) when name == Ns.Ping + "ping" => Result(stanza, options, null),
            _ => Error(stanza, options),
        };
        return [new Delivery(from, reply)];
    }

    private static XElement ServiceInfo(MucServiceOptions options) =>
        new(Ns.DiscoInfo + "query",
            Disco.Identity(options.ServiceName),
            Disco.Feature(Ns.DiscoInfo.NamespaceName),
            Disco.Feature(Ns.DiscoItems.NamespaceName),
            Disco.Feature(Ns.Muc.NamespaceName),
            Disco.Feature(Stanzas.MucUnique.NamespaceName),
            options.OccupantIds ? Disco.Feature(Stanzas.OccupantId.NamespaceName) : null);

    /// <summary>
    /// One page of the public rooms (XEP-0059). A request without paging gets the first page, with a &lt;set/&gt; only
    /// when that is not every room, so a client that pages knows there are more and one that does not sees a short list.
    /// </summary>
    private static XElement RoomItems(XElement request, XElement query, IReadOnlyList<RoomListing> publicRooms, MucServiceOptions options)
    {
        var (paging, malformed) = ResultSetRequest.Read(query.Element(ResultSetRequest.Rsm + "set"));
        if (paging is null) return Error(request, options, StanzaErrorCondition.BadRequest, malformed, type: "modify");
        var page = RoomPages.Select(publicRooms, room => room.Room.ToString(), paging,
            paging.PageSize(options.DiscoItemsPageSize, options.DiscoItemsPageSize));
        var set = paging == ResultSetRequest.None && !page.HasMore ? null
            : ResultSetRequest.Reply(page.Items.Count == 0 ? null : page.Items[0].Room.ToString(),
                page.Items.Count == 0 ? null : page.Items[^1].Room.ToString(), page.Count);
        return Result(request, options, new XElement(Ns.DiscoItems + "query", page.Items.Select(room =>
            new XElement(Ns.DiscoItems + "item", new XAttribute("jid", room.Room.ToString()),
                room.Name.Length == 0 ? null : new XAttribute("name", room.Name))), set));
    }

    private static XElement Result(XElement request, MucServiceOptions options, XElement? payload) =>
        new(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", request.Attribute("id")?.Value ?? ""),
            new XAttribute("from", options.ServiceDomain), payload);

    private static XElement Error(XElement request, MucServiceOptions options,
        StanzaErrorCondition condition = StanzaErrorCondition.ServiceUnavailable, string? text = null, string type = "cancel")
    {
        var reply = StanzaError.Reply(request, condition, text, type);
        reply.Attribute("to")?.Remove();
        reply.SetAttributeValue("from", options.ServiceDomain);
        return reply;
    }
}
