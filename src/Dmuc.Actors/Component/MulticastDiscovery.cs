using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Component;

/// <summary>
/// Finds the host server's XEP-0033 multicast service over the component stream (XEP-0033 §3, XEP-0030): first the
/// host itself (a Prosody with mod_dmuc_multicast answers there), then each item the host lists (ejabberd's
/// mod_multicast lives at <c>multicast.HOST</c>). Pure: it says which queries to send and, once the answers are in,
/// which service was found, if any.
/// </summary>
public sealed class MulticastDiscovery
{
    public const string AddressFeature = "http://jabber.org/protocol/address";

    /// <summary>
    /// Dmuc's own feature: the service hands on each stanza before it reads the next one from the component stream,
    /// so what the node sends through it and what it sends direct (IQs) reach a user in the order sent.
    /// mod_dmuc_multicast announces it; ejabberd's mod_multicast, a process of its own, cannot.
    /// </summary>
    public const string InOrderFeature = "urn:xmpp:tmp:dmuc:0#multicast-in-order";

    /// <summary>
    /// Dmuc's own feature and namespace: the service takes the recipients as one text node of tab-separated JIDs
    /// (<see cref="RecipientListForm.Compact"/>, docs/protocol/multicast.md). mod_dmuc_multicast announces it.
    /// </summary>
    public const string CompactFeature = "urn:xmpp:tmp:dmuc:multicast:0";

    // Answers to these ids are the discovery's; nothing else the node sends uses the prefix.
    private const string IdPrefix = "dmuc-multicast-";

    private readonly string _componentDomain;
    private readonly string _hostDomain;
    private readonly Dictionary<string, PendingQuery> _pending = new(StringComparer.Ordinal);
    private int _nextId;

    public MulticastDiscovery(string componentDomain, string hostDomain)
    {
        _componentDomain = componentDomain;
        _hostDomain = hostDomain;
    }

    /// <summary>What to send first: disco#info to the host.</summary>
    public IReadOnlyList<XElement> Start() => [Query(Ns.DiscoInfo, _hostDomain)];

    /// <summary>Whether <paramref name="stanza"/> answers one of the discovery's queries (the stream hands it here, not to rooms).</summary>
    public static bool IsAnswer(XElement stanza) =>
        stanza.Name == Ns.Client + "iq" && ((string?)stanza.Attribute("id"))?.StartsWith(IdPrefix, StringComparison.Ordinal) == true
        && (string?)stanza.Attribute("type") is "result" or "error";

    /// <summary>Takes one answer; an error answer or one to no pending query counts as "not here".</summary>
    public Step Receive(XElement answer)
    {
        if ((string?)answer.Attribute("id") is not { } id || !_pending.Remove(id, out var query)) return Continue([]);
        var result = (string?)answer.Attribute("type") == "result" ? answer.Element(query.Namespace + "query") : null;
        if (query.Namespace == Ns.DiscoInfo)
        {
            var features = result?.Elements(Ns.DiscoInfo + "feature").Select(feature => (string?)feature.Attribute("var")).ToHashSet() ?? [];
            if (features.Contains(AddressFeature))
                return new Step([], new MulticastService(query.To, InOrder: features.Contains(InOrderFeature),
                    features.Contains(CompactFeature) ? RecipientListForm.Compact : RecipientListForm.BlindCopies), Finished: true);
            // The host itself has no multicast: ask what it hosts.
            if (query.To == _hostDomain) return Continue([Query(Ns.DiscoItems, _hostDomain)]);
            return Continue([]);
        }
        var items = result?.Elements(Ns.DiscoItems + "item")
            .Select(item => (string?)item.Attribute("jid"))
            .Where(jid => !string.IsNullOrEmpty(jid) && jid != _componentDomain && jid != _hostDomain)
            .Distinct(StringComparer.Ordinal)
            .Select(jid => Query(Ns.DiscoInfo, jid!))
            .ToList() ?? [];
        return Continue(items);
    }

    private Step Continue(IReadOnlyList<XElement> queries) => new(queries, Service: null, Finished: _pending.Count == 0);

    private XElement Query(XNamespace ns, string to)
    {
        var id = IdPrefix + ++_nextId;
        _pending[id] = new PendingQuery(ns, to);
        return new XElement(Ns.Client + "iq", new XAttribute("type", "get"), new XAttribute("id", id),
            new XAttribute("from", _componentDomain), new XAttribute("to", to), new XElement(ns + "query"));
    }

    /// <param name="Queries">Queries to send now.</param>
    /// <param name="Service">The multicast service, once found.</param>
    /// <param name="Finished">Nothing more will come: <paramref name="Service"/> is the answer (null: none).</param>
    public sealed record Step(IReadOnlyList<XElement> Queries, MulticastService? Service, bool Finished);

    private sealed record PendingQuery(XNamespace Namespace, string To);
}

/// <param name="Jid">Where multicast stanzas go.</param>
/// <param name="InOrder">It announces <see cref="MulticastDiscovery.InOrderFeature"/>.</param>
/// <param name="ListForm">How it takes the recipients: compact where it announces <see cref="MulticastDiscovery.CompactFeature"/>.</param>
public sealed record MulticastService(string Jid, bool InOrder, RecipientListForm ListForm = RecipientListForm.BlindCopies);
