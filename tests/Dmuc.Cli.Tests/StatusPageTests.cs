using Dmuc.Actors.Replication;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Management.Contracts;
using Xunit.Abstractions;
using static Dmuc.Cli.Tests.DrillTopologyFixture;
using static Dmuc.Integration.Tests.Muc.DrillTopology;

namespace Dmuc.Cli.Tests;

/// <summary>
/// The status page of the primary's node, rendered by a real headless Chromium while a drill cuts killrc off and heals
/// it: the page's own script fetches the cluster's state with the token from the address's fragment, and what it
/// shows (text and colours) follows the link. The screenshots stay in .artifacts/status-page for CI and the README.
/// </summary>
[Collection(CliTopologies.Collection)]
public sealed class StatusPageTests(DrillTopologyFixture fixture, ITestOutputHelper log) : IClassFixture<DrillTopologyFixture>
{
    // Room for a few refreshes of the page (one a second), its fetches included.
    private static readonly TimeSpan ScriptTime = TimeSpan.FromSeconds(3);
    private static readonly string Screenshots = Path.Combine(RepositoryPaths.RepositoryRoot, ".artifacts", "status-page");
    // The page's colour for a split link (--split, #d32f2f), and how far anti-aliasing may take a pixel from it.
    private static readonly (byte R, byte G, byte B) SplitColour = (0xd3, 0x2f, 0x2f);
    private const int Tolerance = 12;

    private string Page => $"{fixture.Topology.ManagementUrl(Avalon)}{ManagementApi.StatusPage}#token={Token}";

    [Fact]
    public async Task The_page_shows_the_hosts_the_room_and_its_links_and_a_cut_link_turns_split_until_the_heal()
    {
        var before = await RenderAsync("linked.png");
        Assert.All(Hosts, host => Assert.Contains(host, before.Dom));
        Assert.Contains(Wallops, before.Dom);
        Assert.Contains("Wumpus", before.Dom);
        Assert.Contains("BigCheese", before.Dom);
        Assert.Contains(">Linked<", before.Dom);
        Assert.DoesNotContain(">Split<", before.Dom);
        Assert.Equal(0, before.SplitPixels);

        try
        {
            Assert.Equal(ExitCodes.Ok, (await CliRun.InvokeAsync("netsplit", "cut", Avalon, Killrc, "--node", fixture.Topology.ManagementUrl(Avalon), "--token", Token)).ExitCode);
            await fixture.Topology.WaitForLinkStateAsync(Wallops, Killrc, LinkState.Split);
            var during = await RenderAsync("during-drill.png");
            Assert.Contains(">Split<", during.Dom);
            Assert.Contains(">Linked<", during.Dom); // vesa's link is untouched
            Assert.True(during.SplitPixels > 300, $"the split link shows in only {during.SplitPixels} pixels of the split colour");
        }
        finally
        {
            await CliRun.InvokeAsync("netsplit", "heal", "--node", fixture.Topology.ManagementUrl(Vesa), "--token", Token);
        }

        await fixture.Topology.WaitForLinkStateAsync(Wallops, Killrc, LinkState.Linked);
        var after = await RenderAsync("healed.png");
        Assert.DoesNotContain(">Split<", after.Dom);
        Assert.Equal(0, after.SplitPixels);
    }

    [Fact]
    public async Task Without_the_token_the_page_shows_no_data_and_says_it_wants_one()
    {
        var dom = await HeadlessChromium.DumpDomAsync($"{fixture.Topology.ManagementUrl(Avalon)}{ManagementApi.StatusPage}", ScriptTime);
        Assert.Contains("wants its management token", dom);
        Assert.DoesNotContain(Wallops, dom);
        Assert.DoesNotContain("Wumpus", dom);
    }

    private async Task<(string Dom, int SplitPixels)> RenderAsync(string screenshot)
    {
        var dom = await HeadlessChromium.DumpDomAsync(Page, ScriptTime);
        var file = Path.Combine(Screenshots, screenshot);
        await HeadlessChromium.ScreenshotAsync(Page, ScriptTime, file, width: 1000, height: 1000);
        var image = PngImage.Load(file);
        Assert.Equal((1000, 1000), (image.Width, image.Height));
        var splitPixels = image.CountNear(SplitColour.R, SplitColour.G, SplitColour.B, Tolerance);
        log.WriteLine($"{screenshot}: {splitPixels} pixels of the split colour");
        return (dom, splitPixels);
    }
}
