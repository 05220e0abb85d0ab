using System.Xml.Linq;
using Dmuc.Integration.Tests.Scansion;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

public sealed class StanzaMatcherTests
{
    private const string MucUser = "http://jabber.org/protocol/muc#user";

    private static XElement Stanza(string xml) => ScansionXml.ParseStanza(xml, name => $"[{name}]");

    private static string? Mismatch(string expected, string actual) => StanzaMatcher.FindMismatch(Stanza(expected), Stanza(actual));

    [Fact]
    public void Client_namespace_elements_accept_extra_attributes_and_children_in_any_order() =>
        Assert.Null(Mismatch(
            "<presence from='r@c/n'><x xmlns='vcard-temp:x:update'><photo/></x><priority/></presence>",
            "<presence from='r@c/n' to='u@h/r' xml:lang='en'><priority/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='1'/><x xmlns='vcard-temp:x:update'><photo/></x></presence>"));

    [Fact]
    public void Client_namespace_elements_need_every_expected_attribute_value() =>
        Assert.Contains("attribute type='chat', expected 'groupchat'", Mismatch("<message type='groupchat'/>", "<message type='chat'/>"));

    [Fact]
    public void Namespaced_elements_reject_extra_attributes() =>
        Assert.Contains("unexpected attribute jid", Mismatch(
            $"<presence><x xmlns='{MucUser}'><item affiliation='owner' role='moderator'/></x></presence>",
            $"<presence><x xmlns='{MucUser}'><item affiliation='owner' role='moderator' jid='a@b/c'/></x></presence>"));

    [Fact]
    public void Namespaced_elements_need_their_children_in_order() =>
        Assert.NotNull(Mismatch(
            $"<presence><x xmlns='{MucUser}'><status code='110'/><status code='201'/></x></presence>",
            $"<presence><x xmlns='{MucUser}'><status code='201'/><status code='110'/></x></presence>"));

    [Fact]
    public void Strict_false_allows_any_order_and_extra_children() =>
        Assert.Null(Mismatch(
            $"<presence><x xmlns='{MucUser}' scansion:strict='false'><status code='110'/><status code='201'/></x></presence>",
            $"<presence><x xmlns='{MucUser}'><status code='201'/><item role='moderator'/><status code='110'/></x></presence>"));

    [Fact]
    public void Strict_true_forbids_children_the_expected_element_does_not_list() =>
        Assert.Contains("unexpected child <identity", Mismatch(
            "<iq><query xmlns='http://jabber.org/protocol/disco#info' node='x' scansion:strict='true'/></iq>",
            "<iq><query xmlns='http://jabber.org/protocol/disco#info' node='x'><identity name='n'/></query></iq>"));

    [Fact]
    public void Any_value_accepts_whatever_the_attribute_holds() =>
        Assert.Null(Mismatch(
            "<message><delay xmlns='urn:xmpp:delay' stamp='{scansion:any}'/></message>",
            "<message><delay xmlns='urn:xmpp:delay' stamp='2026-11-23T10:00:00Z'/></message>"));

    [Fact]
    public void Any_value_still_requires_the_attribute() =>
        Assert.Contains("attribute stamp='{scansion:any}' is missing", Mismatch(
            "<message><delay xmlns='urn:xmpp:delay' stamp='{scansion:any}'/></message>",
            "<message><delay xmlns='urn:xmpp:delay'/></message>"));

    [Fact]
    public void Text_is_compared_trimmed_where_expected_has_text()
    {
        Assert.Null(Mismatch("<message><body>\n\t\tHi there\n\t</body></message>", "<message><body>Hi there</body></message>"));
        Assert.Null(Mismatch("<message><subject/></message>", "<message><subject>Any topic</subject></message>"));
        Assert.Contains("text 'Bye', expected 'Hi'", Mismatch("<message><body>Hi</body></message>", "<message><body>Bye</body></message>"));
    }

    [Fact]
    public void Each_expected_child_needs_its_own_actual_child() =>
        Assert.NotNull(Mismatch("<presence><priority/><priority/></presence>", "<presence><priority/></presence>"));

    [Fact]
    public void Variables_are_filled_in_and_escaped() =>
        Assert.Equal("[Romeo's full JID]", (string?)Stanza("<presence to=\"${Romeo's full JID}\"/>").Attribute("to"));
}
