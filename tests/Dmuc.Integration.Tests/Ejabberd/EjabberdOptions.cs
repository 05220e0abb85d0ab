using Dmuc.Testing;

namespace Dmuc.Integration.Tests.Ejabberd;

/// <summary>One ejabberd host whose MUC domain is served by an external component (a Dmuc node), with a multicast service for it.</summary>
public sealed record EjabberdOptions(string Domain, string MucDomain)
{
    /// <summary>Bare JIDs the component treats as MUC service administrators (ejabberd itself does not need them).</summary>
    public IReadOnlyList<string> ServiceAdmins { get; init; } = [];

    /// <summary>The component's multicast service: deploy/ejabberd's mod_dmuc_multicast unless a test says otherwise.</summary>
    public EjabberdMulticastService Multicast { get; init; } = EjabberdMulticastService.DmucModule;
}
