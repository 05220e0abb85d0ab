using Dmuc.Integration.Tests.Prosody;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>Starts an external MUC component against a running Prosody; disposing the result stops it.</summary>
public delegate Task<IAsyncDisposable> StartExternalComponent(ComponentEndpoint endpoint, CancellationToken cancellationToken);

/// <summary>The MUC service a test talks to: Prosody's own mod_muc (the reference) or an external component.</summary>
public sealed class MucUnderTest
{
    private MucUnderTest(string name, StartExternalComponent? startComponent)
    {
        Name = name;
        StartComponent = startComponent;
    }

    /// <summary>Prosody's built-in MUC, which the scansion scripts were recorded against.</summary>
    public static MucUnderTest ProsodyOwnMuc { get; } = new("Prosody mod_muc", startComponent: null);

    public static MucUnderTest ExternalComponent(string name, StartExternalComponent start) => new(name, start);

    public string Name { get; }

    /// <summary>Null when Prosody serves the MUC domain itself.</summary>
    public StartExternalComponent? StartComponent { get; }

    public MucHosting Hosting => StartComponent is null ? MucHosting.ProsodyOwnMuc : MucHosting.ExternalComponent;

    public override string ToString() => Name;
}
