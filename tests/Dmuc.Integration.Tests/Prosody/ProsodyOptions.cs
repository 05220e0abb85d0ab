namespace Dmuc.Integration.Tests.Prosody;

/// <summary>Who serves the MUC domain inside Prosody.</summary>
public enum MucHosting
{
    /// <summary>Prosody's own mod_muc: the reference implementation the scansion scripts were recorded against.</summary>
    ProsodyOwnMuc,

    /// <summary>An XEP-0114 external component (the MUC under test) that connects to Prosody's component port.</summary>
    ExternalComponent,
}

/// <summary>The setup the scansion scripts assume: host "localhost", MUC at "conference.localhost", admin@localhost.</summary>
public sealed record ProsodyOptions(MucHosting MucHosting)
{
    public string Domain { get; init; } = "localhost";
    public string MucDomain { get; init; } = "conference.localhost";
    public IReadOnlyList<string> ServiceAdmins { get; init; } = ["admin@localhost"];

    /// <summary>
    /// With an external component: the host loads deploy/prosody's mod_dmuc_multicast for it, so that the component can
    /// multicast (XEP-0033) to the host's users.
    /// </summary>
    public bool MulticastModule { get; init; } = true;

    /// <summary>
    /// With an external component: the component loads deploy/prosody's mod_dmuc_stream_ack, which keeps what it hands the
    /// component until acknowledged and hands it to the next stream (docs/protocol/stream-ack.md).
    /// </summary>
    public bool StreamAckModule { get; init; } = true;

    /// <summary>
    /// With an external component: the component loads deploy/prosody's mod_dmuc_delivered, which tells a node recovered
    /// after a crash what each session last got of each room (docs/protocol/delivered.md).
    /// </summary>
    public bool DeliveredModule { get; init; } = true;

    /// <summary>Debug logs are what a developer wants when a script fails; Prosody stays fast enough with them.</summary>
    public string LogLevel { get; init; } = "debug";
}
