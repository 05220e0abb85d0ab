namespace Dmuc.LoadTest.Servers;

/// <summary>What an XMPP server's generated config needs: its host, ports, MUC and private folder.</summary>
internal sealed record XmppHostSettings(
    string Domain,
    string MucDomain,
    MucService Muc,
    int ClientPort,
    int ComponentPort,
    string ComponentSecret,
    string WorkDirectory)
{
    /// <summary>Room history kept by whichever MUC serves the room (small: joins ask for none anyway).</summary>
    public const int HistoryLength = 20;
}
