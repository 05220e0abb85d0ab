using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// What an entrant is sent of each occupant is built once per occupant and view and shared by the entrants after it, and
/// never outlives a change of the occupant: its presence, its affiliation.
/// </summary>
public sealed class RosterPresencesTests
{
    private const string Nurse = "nurse@localhost/kitchen";

    [Fact]
    public void Entrants_share_one_roster_presence_per_occupant_and_view_and_only_a_moderator_s_shows_the_real_jid()
    {
        var room = TestRoom.Created();
        room.Admin(TestRoom.Owner, "affiliation='admin' jid='mod@localhost'");
        room.Join(Nurse, "Nurse");

        var toJuliet = NurseAsSeenBy(room.Join("juliet@localhost/balcony", "Juliet"), "juliet@localhost/balcony");
        var toRomeo = NurseAsSeenBy(room.Join("romeo@localhost/street", "Romeo"), "romeo@localhost/street");
        var toMod = NurseAsSeenBy(room.Join("mod@localhost/desk", "Mod"), "mod@localhost/desk");

        Assert.Same(toJuliet, toRomeo);
        Assert.Null(Item(toRomeo).Attribute("jid"));
        Assert.Equal(Nurse, Item(toMod).Attribute("jid")?.Value);
    }

    [Fact]
    public void An_entrant_sees_the_occupant_s_presence_and_affiliation_as_they_are_after_a_change_not_as_an_earlier_entrant_did()
    {
        var room = TestRoom.Created();
        room.Join(Nurse, "Nurse");
        var before = NurseAsSeenBy(room.Join("juliet@localhost/balcony", "Juliet"), "juliet@localhost/balcony");

        room.Send($"<presence from='{Nurse}' to='{TestRoom.Room}/Nurse'><show>away</show><status>herbs</status></presence>");
        var afterPresence = NurseAsSeenBy(room.Join("romeo@localhost/street", "Romeo"), "romeo@localhost/street");
        room.Admin(TestRoom.Owner, "affiliation='member' jid='nurse@localhost'");
        var afterAffiliation = NurseAsSeenBy(room.Join("friar@localhost/cell", "Friar"), "friar@localhost/cell");

        Assert.Null(before.Element(Ns.Client + "show"));
        Assert.Equal("none", Item(before).Attribute("affiliation")?.Value);
        Assert.Equal("away", afterPresence.Element(Ns.Client + "show")?.Value);
        Assert.Equal("herbs", afterPresence.Element(Ns.Client + "status")?.Value);
        Assert.Equal("none", Item(afterPresence).Attribute("affiliation")?.Value);
        Assert.Equal("away", afterAffiliation.Element(Ns.Client + "show")?.Value);
        Assert.Equal("member", Item(afterAffiliation).Attribute("affiliation")?.Value);
    }

    private static XElement NurseAsSeenBy(Decision join, string entrant) =>
        Assert.Single(join.To(entrant), stanza => stanza.Attribute("from")?.Value == $"{TestRoom.Room}/Nurse");

    private static XElement Item(XElement presence) => presence.MucUser()!.Element(Ns.MucUser + "item")!;
}
