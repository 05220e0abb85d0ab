using Dmuc.Host;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>Dmuc as the MUC under test: a Dmuc node connected to Prosody as the conference.localhost component.</summary>
public static class DmucUnderTest
{
    public static MucUnderTest Muc { get; } = MucUnderTest.ExternalComponent("Dmuc", StartNodeAsync);

    /// <summary>
    /// Starts a fresh node (empty journal: every script expects no rooms) connected to the test Prosody as the
    /// conference.localhost component; disposing stops it (occupants get 332) and removes its data.
    /// </summary>
    public static async Task<IAsyncDisposable> StartNodeAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("dmuc-node-").FullName;
        var settings = new Dictionary<string, string?>
        {
            ["Dmuc:Server"] = $"{endpoint.Host}:{endpoint.Port}",
            ["Dmuc:Domain"] = endpoint.Domain,
            ["Dmuc:Secret"] = endpoint.Secret,
            ["Dmuc:Data"] = data,
        };
        for (var i = 0; i < endpoint.ServiceAdmins.Count; i++)
            settings[$"Dmuc:Admins:{i}"] = endpoint.ServiceAdmins[i];
        var node = DmucNode.Build([], config => config.AddInMemoryCollection(settings));
        await node.StartAsync(cancellationToken);
        return Infrastructure.AsyncDisposable.Create(async () =>
        {
            await node.StopAsync();
            node.Dispose();
            Directory.Delete(data, recursive: true);
        });
    }
}
