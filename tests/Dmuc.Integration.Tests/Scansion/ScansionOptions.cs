namespace Dmuc.Integration.Tests.Scansion;

public sealed record ScansionOptions
{
    public static ScansionOptions Default { get; } = new();

    /// <summary>How long a "receives" step waits for a matching stanza.</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long "receives: nothing" watches for stray stanzas.</summary>
    public TimeSpan NothingWindow { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// Pause before a client sends right after a different client sent: the two stanzas travel on different
    /// connections, and the pause lets the server see them in script order.
    /// </summary>
    public TimeSpan PauseBetweenSenders { get; init; } = TimeSpan.FromSeconds(0.1);

    /// <summary>What runs "Netsplit" steps; scripts with such steps fail where there is none.</summary>
    public ILinkDrill? Drill { get; init; }
}

/// <summary>Cuts and heals links between the nodes of XMPP hosts, returning once the rooms' links show it.</summary>
public interface ILinkDrill
{
    Task CutAsync(string hostA, string hostB, CancellationToken cancellationToken);

    Task HealAsync(CancellationToken cancellationToken);
}
