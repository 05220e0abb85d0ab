using Dmuc.Testing;

namespace Dmuc.LoadTest.Servers;

/// <summary>What an XMPP server's generated config needs: its host, ports, MUC and private folder.</summary>
/// <param name="Archived">The server's own MUC archives rooms (Prosody: muc_mam on SQLite, as Dmuc's journal).</param>
internal sealed record XmppHostSettings(
    string Domain,
    string MucDomain,
    MucService Muc,
    int ClientPort,
    int ComponentPort,
    string ComponentSecret,
    string WorkDirectory,
    bool Archived = false)
{
    /// <summary>Prosody loads mod_dmuc_stream_ack for the Dmuc component (<see cref="Backend.StreamAck"/>).</summary>
    public bool StreamAck { get; init; }

    /// <summary>ejabberd's multicast service for the Dmuc component (<see cref="Backend.EjabberdMulticast"/>).</summary>
    public EjabberdMulticastService EjabberdMulticast { get; init; }

    /// <summary>Prosody loads mod_dmuc_delivered for the Dmuc component (<see cref="Backend.Delivered"/>).</summary>
    public bool Delivered { get; init; }

    /// <summary>Room history kept by whichever MUC serves the room (small: joins ask for none anyway).</summary>
    public const int HistoryLength = 20;
}
