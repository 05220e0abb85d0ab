namespace Dmuc.Integration.Tests.Scansion;

/// <summary>A parsed .scs file: the clients it declares and the steps after the ----- separator.</summary>
public sealed record ScansionScript(
    string Name,
    string Path,
    string Title,
    IReadOnlyList<ScansionClient> Clients,
    IReadOnlyList<ScansionStep> Steps)
{
    public ScansionClient Client(string name) =>
        Clients.FirstOrDefault(client => client.Name == name)
        ?? throw new KeyNotFoundException($"{Name}: no [Client] {name}");
}

/// <summary>
/// A [Client] block. ConnectHost/ConnectPort are kept as written; the runner connects to the server under test.
/// </summary>
public sealed record ScansionClient(string Name, string Jid, string Password, string? ConnectHost, int? ConnectPort)
{
    /// <summary>The XMPP host of the client's JID: the server it logs in at when there are several.</summary>
    public string Domain => Jid.Split('@', 2)[^1].Split('/', 2)[0];
}

/// <summary>One action line of a script, with the line number it starts on (1-based) for failure reports.</summary>
public abstract record ScansionStep(int LineNumber, string ClientName)
{
    public abstract string Describe();
}

public sealed record ConnectStep(int LineNumber, string ClientName) : ScansionStep(LineNumber, ClientName)
{
    public override string Describe() => $"{ClientName} connects";
}

public sealed record DisconnectStep(int LineNumber, string ClientName) : ScansionStep(LineNumber, ClientName)
{
    public override string Describe() => $"{ClientName} disconnects";
}

/// <summary>Stanza XML as written in the script; ${…} variables are filled in when the step runs.</summary>
public sealed record SendStep(int LineNumber, string ClientName, string StanzaXml) : ScansionStep(LineNumber, ClientName)
{
    public override string Describe() => $"{ClientName} sends";
}

public sealed record ReceiveStep(int LineNumber, string ClientName, string StanzaXml) : ScansionStep(LineNumber, ClientName)
{
    public override string Describe() => $"{ClientName} receives";
}

/// <summary>
/// Our extension for DMUC drills (not in Prosody's scansion): "Netsplit cuts HOST_A HOST_B" cuts the link between the
/// two hosts' nodes and "Netsplit heals" heals every cut; the step ends once the room's links show it.
/// </summary>
public sealed record NetsplitStep(int LineNumber, (string A, string B)? Cut) : ScansionStep(LineNumber, NetsplitStep.Actor)
{
    public const string Actor = "Netsplit";

    public override string Describe() => Cut is { } cut ? $"{Actor} cuts {cut.A} {cut.B}" : $"{Actor} heals";
}

public sealed record ReceiveNothingStep(int LineNumber, string ClientName) : ScansionStep(LineNumber, ClientName)
{
    public override string Describe() => $"{ClientName} receives: nothing";
}
