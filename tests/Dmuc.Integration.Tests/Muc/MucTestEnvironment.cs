using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>A fresh Prosody plus the MUC under test, with no rooms: what each scansion script starts from.</summary>
public sealed class MucTestEnvironment : IAsyncDisposable
{
    // Generous: CI starts several servers and nodes at once on two cores.
    private static readonly TimeSpan ComponentConnectTimeout = TimeSpan.FromSeconds(30);

    private readonly IAsyncDisposable? _component;

    private MucTestEnvironment(MucUnderTest muc, ProsodyServer prosody, IAsyncDisposable? component)
    {
        Muc = muc;
        Prosody = prosody;
        _component = component;
    }

    public MucUnderTest Muc { get; }
    public ProsodyServer Prosody { get; }
    public XmppServerEndpoint ClientEndpoint => Prosody.ClientEndpoint;

    public static async Task<MucTestEnvironment> StartAsync(MucUnderTest muc, CancellationToken cancellationToken = default)
    {
        var prosody = await ProsodyServer.StartAsync(new ProsodyOptions(muc.Hosting), cancellationToken);
        if (muc.StartComponent is null)
        {
            return new MucTestEnvironment(muc, prosody, component: null);
        }

        IAsyncDisposable? component = null;
        try
        {
            component = await muc.StartComponent(prosody.ComponentEndpoint, cancellationToken);
            // Clients must not talk to the MUC domain before the component is in, or Prosody bounces the stanzas.
            await prosody.WaitForComponentAsync(ComponentConnectTimeout, cancellationToken);
            return new MucTestEnvironment(muc, prosody, component);
        }
        catch
        {
            if (component is not null)
            {
                await component.DisposeAsync();
            }
            await prosody.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_component is not null)
            {
                await _component.DisposeAsync();
            }
        }
        finally
        {
            await Prosody.DisposeAsync();
        }
    }
}
