namespace Dmuc.Rooms.Tests;

/// <summary>Prosody's 14 MUC scansion scripts, replayed against the room logic.</summary>
public sealed class ScansionScriptTests
{
    public static TheoryData<string> Scripts() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Scansion"), "*.scs").Select(path => Path.GetFileName(path)).Order()];

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_passes(string script) => ScansionRunner.Run(Path.Combine(AppContext.BaseDirectory, "Scansion", script));

    [Fact]
    public void A_script_expecting_the_wrong_thing_fails()
    {
        var path = Path.Combine(Path.GetTempPath(), $"negative-{Guid.NewGuid():N}.scs");
        File.WriteAllText(path, """
            [Client] Romeo
            	jid: romeo@localhost
            -----
            Romeo connects
            Romeo sends:
            	<presence to="garden@conference.localhost/romeo"><x xmlns="http://jabber.org/protocol/muc"/></presence>
            Romeo receives:
            	<presence from="garden@conference.localhost/romeo">
            		<x xmlns="http://jabber.org/protocol/muc#user">
            			<item affiliation="member" role="moderator" jid="${Romeo's full JID}"/>
            			<status code="110"/>
            		</x>
            	</presence>
            """);
        try
        {
            Assert.ThrowsAny<Exception>(() => ScansionRunner.Run(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
