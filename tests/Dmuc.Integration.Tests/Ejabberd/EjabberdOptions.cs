namespace Dmuc.Integration.Tests.Ejabberd;

/// <summary>One ejabberd host whose MUC domain is served by an external component (a Dmuc node), with mod_multicast for it.</summary>
public sealed record EjabberdOptions(string Domain, string MucDomain)
{
    /// <summary>Bare JIDs the component treats as MUC service administrators (ejabberd itself does not need them).</summary>
    public IReadOnlyList<string> ServiceAdmins { get; init; } = [];
}
