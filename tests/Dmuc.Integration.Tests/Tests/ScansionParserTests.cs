using Dmuc.Integration.Tests.Scansion;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

public sealed class ScansionParserTests
{
    [Theory]
    [MemberData(nameof(ConformanceScripts.Names), MemberType = typeof(ConformanceScripts))]
    public void Every_conformance_script_parses_into_clients_and_steps(string scriptName)
    {
        var script = ConformanceScripts.Load(scriptName);
        Assert.NotEmpty(script.Clients);
        Assert.All(script.Clients, client => Assert.EndsWith("@localhost", client.Jid.Split('/')[0]));
        Assert.IsType<ConnectStep>(script.Steps[0]);
        Assert.NotEmpty(script.Title);
    }

    [Fact]
    public void There_are_the_fourteen_conformance_scripts() => Assert.Equal(14, ConformanceScripts.AllNames.Count);

    [Fact]
    public void Steps_keep_their_line_numbers_and_stanzas()
    {
        var script = Parse(
            "# Title here",
            "[Client] Romeo",
            "\tjid: romeo@localhost/res",
            "\tpassword: password",
            "-----",
            "Romeo connects",
            "",
            "Romeo sends:",
            "\t<presence to='room@conference.localhost/Romeo'>",
            "\t</presence>",
            "# a comment",
            "Romeo receives: nothing",
            "Romeo disconnects");

        Assert.Equal("Title here", script.Title);
        Assert.Equal(new ScansionClient("Romeo", "romeo@localhost/res", "password", null, null), script.Clients.Single());
        Assert.Collection(script.Steps,
            step => Assert.Equal(new ConnectStep(6, "Romeo"), step),
            step => Assert.Equal(8, Assert.IsType<SendStep>(step).LineNumber),
            step => Assert.Equal(new ReceiveNothingStep(12, "Romeo"), step),
            step => Assert.Equal(new DisconnectStep(13, "Romeo"), step));
    }

    [Fact]
    public void Netsplit_lines_are_drill_steps()
    {
        var script = Parse(
            "# Drill",
            "[Client] Romeo",
            "\tjid: romeo@localhost/res",
            "\tpassword: password",
            "-----",
            "Netsplit cuts avalon.irc killrc.oulubox.irc",
            "Netsplit heals");

        Assert.Collection(script.Steps,
            step => Assert.Equal(new NetsplitStep(6, ("avalon.irc", "killrc.oulubox.irc")), step),
            step => Assert.Equal(new NetsplitStep(7, null), step));
        Assert.Equal("Netsplit cuts avalon.irc killrc.oulubox.irc", script.Steps[0].Describe());
    }

    [Fact]
    public async Task A_netsplit_step_fails_where_nothing_can_cut_links()
    {
        var script = Parse("# Drill", "[Client] Romeo", "\tjid: romeo@localhost/res", "\tpassword: password", "-----", "Netsplit heals");

        var result = await new ScansionRunner(_ => null).RunAsync(script);

        Assert.False(result.Passed);
        Assert.Contains("cannot cut links", result.Failure!.Reason);
    }

    [Theory]
    [InlineData("Juliet connects", "line 4: 'Juliet' is not a declared [Client]")]
    [InlineData("Romeo dances", "line 4: not an action")]
    [InlineData("Romeo sends:", "line 4: a sends:/receives: step needs an indented stanza")]
    public void Mistakes_are_reported_with_their_line(string stepLine, string expectedMessage)
    {
        var error = Assert.Throws<ScansionParseException>(() => Parse("[Client] Romeo", "\tjid: romeo@localhost", "-----", stepLine));
        Assert.Contains(expectedMessage, error.Message);
    }

    private static ScansionScript Parse(params string[] lines) => ScansionParser.Parse("inline", "inline.scs", lines);
}
