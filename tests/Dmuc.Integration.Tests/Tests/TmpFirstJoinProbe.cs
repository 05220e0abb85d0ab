using System.Diagnostics;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

public sealed class TmpFirstJoinProbe(ITestOutputHelper output)
{
    [Fact]
    public async Task Probe()
    {
        for (var i = 0; i < 3; i++)
        {
            await using var env = await MultiHostEnvironment.StartAsync("channel.avalon.irc", "avalon.irc", ["killrc.oulubox.irc", "eris.dclxvii.irc"], ["admin@avalon.irc"]);
            var host = i == 0 ? "avalon.irc" : "killrc.oulubox.irc";
            await using var a = await XmppTestClient.ConnectAsync(env.ClientEndpointFor(host)!, $"argl@{host}/x", "p");
            var sw = Stopwatch.StartNew();
            await a.JoinRoomAsync($"room{i}@channel.avalon.irc", "Wumpus");
            var first = sw.Elapsed;
            sw.Restart();
            await using var b = await XmppTestClient.ConnectAsync(env.ClientEndpointFor("eris.dclxvii.irc")!, "squit@eris.dclxvii.irc/x", "p");
            sw.Restart();
            await a.JoinRoomAsync($"other{i}@channel.avalon.irc", "Wumpus");
            var second = sw.Elapsed;
            output.WriteLine($"run {i}: first join {first.TotalMilliseconds:0} ms, second room {second.TotalMilliseconds:0} ms");
        }
    }
}
