using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Actors.Tests;

/// <summary>How the node finds its server's XEP-0033 service: the host itself (Prosody's module), then the host's items (ejabberd).</summary>
public sealed class MulticastDiscoveryTests
{
    private const string Component = "conference.example.org";
    private const string Host = "example.org";

    [Fact]
    public void A_host_that_advertises_the_address_feature_is_the_service()
    {
        var discovery = new MulticastDiscovery(Component, Host);
        var query = Assert.Single(discovery.Start());
        Assert.Equal((Host, Component, "get"), (Attr(query, "to"), Attr(query, "from"), Attr(query, "type")));
        Assert.NotNull(query.Element(Ns.DiscoInfo + "query"));

        var step = discovery.Receive(InfoResult(query, "http://jabber.org/protocol/disco#info", MulticastDiscovery.AddressFeature,
            MulticastDiscovery.InOrderFeature));

        Assert.Equal((true, new MulticastService(Host, InOrder: true)), (step.Finished, step.Service));
        Assert.Empty(step.Queries);
    }

    [Fact]
    public void A_host_that_also_advertises_the_compact_form_takes_its_recipients_compact_and_the_route_says_so()
    {
        var discovery = new MulticastDiscovery(Component, Host);
        var step = discovery.Receive(InfoResult(discovery.Start()[0], MulticastDiscovery.AddressFeature, MulticastDiscovery.InOrderFeature,
            MulticastDiscovery.CompactFeature));

        Assert.Equal(new MulticastService(Host, InOrder: true, RecipientListForm.Compact), step.Service);
        Assert.Equal(new MulticastRoute(Host, Host, 50, InOrder: true, RecipientListForm.Compact),
            new MulticastSettings(Host, MaxAddresses: 50, TimeSpan.FromSeconds(1)).RouteFor(step.Service).Route);
    }

    [Fact]
    public void Otherwise_each_item_of_the_host_but_the_component_is_asked_and_the_one_with_the_feature_is_the_service()
    {
        var discovery = new MulticastDiscovery(Component, Host);
        var hostInfo = discovery.Start()[0];
        var itemsQuery = Assert.Single(discovery.Receive(InfoResult(hostInfo, "urn:xmpp:ping")).Queries);
        Assert.NotNull(itemsQuery.Element(Ns.DiscoItems + "query"));

        var itemQueries = discovery.Receive(ItemsResult(itemsQuery, Component, "pubsub.example.org", "multicast.example.org")).Queries;
        Assert.Equal(["pubsub.example.org", "multicast.example.org"], itemQueries.Select(query => Attr(query, "to")));

        var afterPubsub = discovery.Receive(InfoResult(itemQueries[0], "http://jabber.org/protocol/pubsub"));
        Assert.False(afterPubsub.Finished);
        var found = discovery.Receive(InfoResult(itemQueries[1], MulticastDiscovery.AddressFeature));
        Assert.True(found.Finished);
        Assert.Equal(new MulticastService("multicast.example.org", InOrder: false), found.Service);
    }

    [Fact]
    public void Errors_and_a_host_without_items_end_the_search_with_no_service()
    {
        var discovery = new MulticastDiscovery(Component, Host);
        var hostInfo = discovery.Start()[0];
        var itemsQuery = discovery.Receive(Error(hostInfo)).Queries.Single();
        var end = discovery.Receive(ItemsResult(itemsQuery, Component));
        Assert.Equal((true, (MulticastService?)null), (end.Finished, end.Service));
    }

    [Fact]
    public void Only_answers_to_its_own_queries_are_taken()
    {
        var discovery = new MulticastDiscovery(Component, Host);
        var hostInfo = discovery.Start()[0];
        var stranger = new XElement(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", "room-disco-1"), new XAttribute("from", Host));
        Assert.False(MulticastDiscovery.IsAnswer(stranger));
        Assert.False(MulticastDiscovery.IsAnswer(new XElement(hostInfo)));  // a get with the discovery's id is a query, not an answer
        Assert.True(MulticastDiscovery.IsAnswer(InfoResult(hostInfo)));

        var replayed = InfoResult(hostInfo, MulticastDiscovery.AddressFeature);
        Assert.Equal(Host, discovery.Receive(replayed).Service?.Jid);
        Assert.Null(discovery.Receive(replayed).Service);
    }

    [Fact]
    public void A_service_that_may_reorder_is_used_only_when_allowed()
    {
        var settings = new MulticastSettings(Host, MaxAddresses: 50, TimeSpan.FromSeconds(1));
        var ejabberds = new MulticastService("multicast.example.org", InOrder: false);

        Assert.Equal(new MulticastRoute(Host, Host, 50, InOrder: true), settings.RouteFor(new MulticastService(Host, InOrder: true)).Route);
        var (refused, reason) = settings.RouteFor(ejabberds);
        Assert.Null(refused);
        Assert.Contains("Dmuc:Multicast:AllowUnordered", reason);
        Assert.Equal(new MulticastRoute("multicast.example.org", Host, 50, InOrder: false), (settings with { AllowUnordered = true }).RouteFor(ejabberds).Route);
        Assert.Null(settings.RouteFor(null).Route);
    }

    private static string? Attr(XElement element, string name) => (string?)element.Attribute(name);

    private static XElement Answer(XElement query, string type, params object[] content) =>
        new(Ns.Client + "iq", new XAttribute("type", type), new XAttribute("id", Attr(query, "id")!),
            new XAttribute("from", Attr(query, "to")!), new XAttribute("to", Component), content);

    private static XElement InfoResult(XElement query, params string[] features) =>
        Answer(query, "result", new XElement(Ns.DiscoInfo + "query",
            features.Select(feature => new XElement(Ns.DiscoInfo + "feature", new XAttribute("var", feature)))));

    private static XElement ItemsResult(XElement query, params string[] jids) =>
        Answer(query, "result", new XElement(Ns.DiscoItems + "query",
            jids.Select(jid => new XElement(Ns.DiscoItems + "item", new XAttribute("jid", jid)))));

    private static XElement Error(XElement query) =>
        Answer(query, "error", new XElement(Ns.Client + "error", new XAttribute("type", "cancel"), new XElement(Ns.Stanzas + "service-unavailable")));
}
