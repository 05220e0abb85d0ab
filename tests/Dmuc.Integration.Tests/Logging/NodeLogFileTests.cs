using System.Text.Json;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Hosting;
using Dmuc.Actors.Rooms;
using Dmuc.Host;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Logging;

/// <summary>
/// The node's rolling JSON log file as it is by default (under the data folder), read back after a room event. The
/// node has no XMPP server to talk to: the room event is a stanza handed to its room directory, as the component
/// connection would.
/// </summary>
public sealed class NodeLogFileTests(ITestOutputHelper log)
{
    private const string Room = "capulet@conference.localhost";

    [Fact]
    public async Task A_room_event_is_written_to_the_daily_json_file_with_the_room_node_and_host_as_properties()
    {
        var data = Directory.CreateTempSubdirectory("dmuc-logs-").FullName;
        var ports = FreeTcpPorts.Pick(2);
        using var node = DmucNode.Build([], config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dmuc:Domain"] = "conference.localhost",
            ["Dmuc:Secret"] = "unused",
            // Nothing listens there: the node keeps trying to connect, which is no concern of this test.
            ["Dmuc:Server"] = $"127.0.0.1:{ports[0]}",
            ["Dmuc:Data"] = data,
            ["Dmuc:HostDomain"] = "localhost",
            ["Dmuc:ClusterPort"] = ports[1].ToString(),
            ["Dmuc:Management:Url"] = "",
        }));
        try
        {
            await node.StartAsync();
            node.Services.GetRequiredService<ActorRegistry>().Get<RoomDirectory>().Tell(new RouteStanza(new XElement(
                XmppNamespaces.Client + "presence", new XAttribute("from", "tybalt@localhost/sword"), new XAttribute("to", Room + "/Tybalt"),
                new XElement((XNamespace)"http://jabber.org/protocol/muc" + "x"))));

            var opened = await WaitForEventAsync(Path.Combine(data, "logs"), json =>
                json.TryGetProperty("@mt", out var template) && template.GetString() == "Room {Room} is open ({Occupants} occupants)");

            Assert.Equal(Room, opened.GetProperty("Room").GetString());
            Assert.Equal(1, opened.GetProperty("Occupants").GetInt32());
            Assert.Equal($"akka.ssl.tcp://dmuc@127.0.0.1:{ports[1]}", opened.GetProperty("Node").GetString());
            Assert.Equal("localhost", opened.GetProperty("HostDomain").GetString());
            Assert.Equal("conference.localhost", opened.GetProperty("Domain").GetString());
            Assert.Single(Directory.GetFiles(Path.Combine(data, "logs")), file =>
                Path.GetFileName(file) == $"dmuc-{DateTime.Now:yyyyMMdd}.json");
        }
        finally
        {
            await node.StopAsync();
            node.Dispose();
            Directory.Delete(data, recursive: true);
        }
    }

    private async Task<JsonElement> WaitForEventAsync(string folder, Func<JsonElement, bool> matches)
    {
        // Generous: test assemblies run side by side, and a cold node's first room entry (journal tables, recovery, JIT)
        // once took over 10 s on this 2-core machine.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder) : [])
            {
                // The sink keeps the file open for writing.
                using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                while (await reader.ReadLineAsync() is { } line)
                {
                    var json = JsonDocument.Parse(line).RootElement;
                    if (!matches(json)) continue;
                    log.WriteLine(line);
                    return json;
                }
            }
            if (DateTime.UtcNow > deadline)
            {
                foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder) : [])
                {
                    using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                    log.WriteLine($"{file}:\n{await reader.ReadToEndAsync()}");
                }
                throw new TimeoutException($"no such event in {folder}");
            }
            await Task.Delay(100);
        }
    }
}
