using Dmuc.Actors.Persistence;

namespace Dmuc.Host;

/// <summary>The node's settings, bound from the "Dmuc" configuration section.</summary>
public sealed class NodeOptions
{
    public const string Section = "Dmuc";

    /// <summary>The XMPP server's component port, HOST:PORT (XEP-0114).</summary>
    public string Server { get; set; } = "127.0.0.1:5347";

    /// <summary>The MUC service domain this node serves, as declared in the XMPP server.</summary>
    public string Domain { get; set; } = "";

    /// <summary>The component secret shared with the XMPP server.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The node's data directory (the SQLite journal lives here).</summary>
    public string Data { get; set; } = "data";

    /// <summary>Bare JIDs of service administrators: owners of every room.</summary>
    public List<string> Admins { get; set; } = [];

    public JournalProvider JournalProvider { get; set; } = JournalProvider.Sqlite;

    /// <summary>Required for PostgreSQL; for SQLite the default is a file in <see cref="Data"/>.</summary>
    public string? JournalConnectionString { get; set; }

    public int SnapshotEvery { get; set; } = 500;

    /// <summary>Whitespace keepalive on the component stream after this much silence.</summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Command-line switches and the keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> CommandLineSwitches = new Dictionary<string, string>
    {
        ["--server"] = $"{Section}:{nameof(Server)}",
        ["--domain"] = $"{Section}:{nameof(Domain)}",
        ["--secret"] = $"{Section}:{nameof(Secret)}",
        ["--data"] = $"{Section}:{nameof(Data)}",
        ["--journal"] = $"{Section}:{nameof(JournalProvider)}",
        ["--journal-connection"] = $"{Section}:{nameof(JournalConnectionString)}",
    };

    public (string Host, int Port) ServerEndpoint()
    {
        var colon = Server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(Server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new InvalidOperationException($"Dmuc:Server must be HOST:PORT, got '{Server}'");
        return (Server[..colon], port);
    }

    public JournalOptions Journal() => JournalProvider switch
    {
        JournalProvider.Sqlite when JournalConnectionString is null => JournalOptions.SqliteIn(Data),
        _ when JournalConnectionString is null =>
            throw new InvalidOperationException("Dmuc:JournalConnectionString is required for PostgreSQL"),
        _ => new JournalOptions(JournalProvider, JournalConnectionString),
    };

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Domain)) throw new InvalidOperationException("Dmuc:Domain (--domain) is required");
        if (string.IsNullOrEmpty(Secret)) throw new InvalidOperationException("Dmuc:Secret (--secret) is required");
        ServerEndpoint();
    }
}
