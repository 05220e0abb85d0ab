using System.Net;
using System.Net.Http.Json;
using Dmuc.Host;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Management.Contracts;
using Microsoft.Extensions.Configuration;

namespace Dmuc.Cli.Tests;

/// <summary>/healthz and /ready of a node whose XMPP server is not there: alive, not ready, and saying why.</summary>
public sealed class HealthRoutesTests
{
    [Fact]
    public async Task A_node_without_its_XMPP_server_is_alive_but_not_ready_naming_the_component_stream()
    {
        var data = Directory.CreateTempSubdirectory("dmuc-health-").FullName;
        var ports = FreeTcpPorts.Pick(2);
        var url = $"http://127.0.0.1:{ports[1]}";
        using var node = DmucNode.Build([], config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dmuc:Domain"] = "conference.localhost",
            ["Dmuc:Secret"] = "unused",
            ["Dmuc:Server"] = $"127.0.0.1:{ports[0]}", // nothing listens there
            ["Dmuc:Data"] = data,
            ["Dmuc:Management:Url"] = url,
        }));
        try
        {
            await node.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            var alive = await http.GetAsync(ManagementApi.Health);
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            Assert.Equal("Healthy", (await alive.Content.ReadFromJsonAsync<HealthView>(ManagementApi.Json))!.Status);

            var ready = await http.GetAsync(ManagementApi.Ready);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            var view = (await ready.Content.ReadFromJsonAsync<HealthView>(ManagementApi.Json))!;
            Assert.Equal("Unhealthy", view.Status);
            Assert.Equal("Unhealthy", view.Checks.Single(check => check.Name == NodeHealth.ComponentStream).Status);
        }
        finally
        {
            await node.StopAsync();
            Directory.Delete(data, recursive: true);
        }
    }
}
