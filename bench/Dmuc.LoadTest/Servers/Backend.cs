using Dmuc.Testing;

namespace Dmuc.LoadTest.Servers;

/// <summary>The XMPP server the clients log into (one process per XMPP host).</summary>
public enum XmppServerKind
{
    Prosody,
    Ejabberd,
}

/// <summary>Who serves the MUC domain behind the XMPP server's c2s port.</summary>
public enum MucService
{
    /// <summary>The XMPP server's own MUC module: the reference.</summary>
    ServerOwn,

    /// <summary>Dmuc nodes, one per XMPP host, each an XEP-0114 external component in its own process.</summary>
    Dmuc,
}

/// <summary>
/// One setup under test: which XMPP server, who serves the MUC, and over how many XMPP hosts the room's
/// occupants are spread (with more than one, the first host's node is the primary, the others replicas).
/// </summary>
/// <param name="Multicast">Dmuc nodes send broadcasts through the server's XEP-0033 multicast service (the servers
/// always offer one); off, one stanza per recipient.</param>
/// <param name="StreamAck">Prosody keeps what it hands the node until acknowledged (mod_dmuc_stream_ack,
/// docs/protocol/stream-ack.md); off, plain XEP-0114.</param>
/// <param name="Delivered">Prosody remembers what each session last got of each room (mod_dmuc_delivered,
/// docs/protocol/delivered.md).</param>
/// <param name="EjabberdMulticast">ejabberd's multicast service: Dmuc's mod_dmuc_multicast (deploy/ejabberd), or
/// ejabberd's own mod_multicast.</param>
/// <param name="Archived">The server's own MUC archives every message (XEP-0313), as Dmuc journals every message it
/// accepts: Prosody's muc_mam on SQLite, ejabberd's mod_mam in ejabberd's default database (mnesia).</param>
public sealed record Backend(string Name, XmppServerKind Server, MucService Muc, int Hosts, bool Multicast = true, bool StreamAck = true,
    bool Delivered = true, EjabberdMulticastService EjabberdMulticast = EjabberdMulticastService.DmucModule, bool Archived = false)
{
    public static readonly Backend ProsodyMuc = new("prosody-muc", XmppServerKind.Prosody, MucService.ServerOwn, 1);
    public static readonly Backend Dmuc = new("dmuc", XmppServerKind.Prosody, MucService.Dmuc, 1);
    public static readonly Backend EjabberdMuc = new("ejabberd-muc", XmppServerKind.Ejabberd, MucService.ServerOwn, 1);
    public static readonly Backend EjabberdDmuc = new("ejabberd-dmuc", XmppServerKind.Ejabberd, MucService.Dmuc, 1);
    public static readonly Backend Dmuc3Hosts = new("dmuc-3hosts", XmppServerKind.Prosody, MucService.Dmuc, 3);
    /// <summary>One room over three ejabberd hosts: what the three-host figures owe to the server in front of each node.</summary>
    public static readonly Backend EjabberdDmuc3Hosts = new("ejabberd-dmuc-3hosts", XmppServerKind.Ejabberd, MucService.Dmuc, 3);
    public static readonly Backend DmucUnicast = Dmuc.WithoutMulticast();
    public static readonly Backend EjabberdDmucUnicast = EjabberdDmuc.WithoutMulticast();
    public static readonly Backend Dmuc3HostsUnicast = Dmuc3Hosts.WithoutMulticast();
    /// <summary>What the stream acknowledgements cost: the same as <see cref="Dmuc"/> without them.</summary>
    public static readonly Backend DmucWithoutStreamAck = Dmuc with { Name = "dmuc-noack", StreamAck = false };
    /// <summary>What remembering each session's last message costs Prosody: the same as <see cref="Dmuc"/> without it.</summary>
    public static readonly Backend DmucWithoutDelivered = Dmuc with { Name = "dmuc-nodelivered", Delivered = false };
    /// <summary>What Dmuc's ejabberd module gains: the same as <see cref="EjabberdDmuc"/> through ejabberd's own mod_multicast.</summary>
    public static readonly Backend EjabberdDmucModMulticast =
        EjabberdDmuc with { Name = "ejabberd-dmuc-modmulticast", EjabberdMulticast = EjabberdMulticastService.ModMulticast };

    /// <summary>
    /// The servers' own MUCs doing what Dmuc does with every message besides delivering it: keep it in an archive. Without,
    /// they keep a room's history in memory only (and ejabberd's adds neither a stanza-id nor an occupant-id to a copy).
    /// </summary>
    public static readonly Backend ProsodyMucArchived = ProsodyMuc with { Name = "prosody-muc-mam", Archived = true };
    public static readonly Backend EjabberdMucArchived = EjabberdMuc with { Name = "ejabberd-muc-mam", Archived = true };

    public static IReadOnlyList<Backend> All { get; } =
        [ProsodyMuc, EjabberdMuc, DmucUnicast, Dmuc, EjabberdDmucUnicast, EjabberdDmuc, Dmuc3HostsUnicast, Dmuc3Hosts, DmucWithoutStreamAck,
            DmucWithoutDelivered, EjabberdDmucModMulticast, ProsodyMucArchived, EjabberdMucArchived, EjabberdDmuc3Hosts];

    public static Backend Parse(string name) =>
        All.FirstOrDefault(backend => backend.Name == name)
        ?? throw new ArgumentException($"Unknown backend '{name}' ({string.Join(", ", All.Select(backend => backend.Name))})");

    /// <summary>The XMPP hosts: "localhost" alone, or a.localhost, b.localhost, … for a multi-host room.</summary>
    public IReadOnlyList<string> HostDomains() => Hosts == 1
        ? ["localhost"]
        : Enumerable.Range(0, Hosts).Select(host => $"{(char)('a' + host)}.localhost").ToList();

    public override string ToString() => Name;

    private Backend WithoutMulticast() => this with { Name = Name + "-unicast", Multicast = false };
}
