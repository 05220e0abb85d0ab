using Dmuc.Actors.Component;

namespace Dmuc.Host;

/// <summary>
/// XEP-0033 multicast towards the node's XMPP server, bound from "Dmuc:Multicast": on by default, used only where the
/// server offers it (docs/operations.md#multicast).
/// </summary>
public sealed class MulticastOptions
{
    /// <summary>Off: every broadcast leaves one stanza per recipient, even where the server could fan it out.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Recipients in one multicast stanza; at most the server's own limit.</summary>
    public int MaxAddresses { get; set; } = MulticastSettings.DefaultMaxAddresses;

    /// <summary>
    /// Use a service that does not announce it keeps the component stream's order (ejabberd's mod_multicast): an IQ
    /// answer may then reach a user before the broadcast sent just before it.
    /// </summary>
    public bool AllowUnordered { get; set; }

    /// <summary>How long the server has to answer service discovery after each connect; until then, and after, one stanza per recipient.</summary>
    public TimeSpan DiscoveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <param name="hostDomain">The XMPP host whose users this node delivers to: Dmuc:HostDomain, or the MUC domain's parent.</param>
    public MulticastSettings? ToSettings(string hostDomain) =>
        Enabled ? new MulticastSettings(hostDomain, MaxAddresses, DiscoveryTimeout, AllowUnordered) : null;

    public void Validate()
    {
        if (MaxAddresses < 2) throw new InvalidSettingException("Dmuc:Multicast:MaxAddresses must be at least 2");
        if (DiscoveryTimeout <= TimeSpan.Zero) throw new InvalidSettingException("Dmuc:Multicast:DiscoveryTimeout must be positive");
    }
}
