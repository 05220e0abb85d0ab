using Xunit;

namespace Dmuc.Integration.Tests.Prosody;

/// <summary>
/// One Prosody (with its own MUC) shared by the tests of <see cref="ProsodyCollection"/>. Tests that need a
/// clean server start their own through <see cref="ProsodyServer.StartAsync"/> or MucTestEnvironment instead.
/// </summary>
public sealed class ProsodyFixture : IAsyncLifetime
{
    private ProsodyServer? _server;

    public ProsodyServer Server => _server ?? throw new InvalidOperationException("The Prosody fixture has not started.");

    public async Task InitializeAsync() => _server = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ProsodyOwnMuc));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ProsodyCollection : ICollectionFixture<ProsodyFixture>
{
    public const string Name = "Shared Prosody";
}
