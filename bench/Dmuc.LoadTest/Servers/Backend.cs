namespace Dmuc.LoadTest.Servers;

/// <summary>Who serves the MUC domain behind Prosody's c2s port.</summary>
public enum Backend
{
    /// <summary>Prosody's own mod_muc: the reference.</summary>
    ProsodyMuc,

    /// <summary>A Dmuc node, as an XEP-0114 external component in its own process.</summary>
    Dmuc,
}

public static class BackendNames
{
    public static string Name(this Backend backend) => backend switch
    {
        Backend.ProsodyMuc => "prosody-muc",
        Backend.Dmuc => "dmuc",
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, null),
    };

    public static Backend Parse(string name)
    {
        foreach (var backend in Enum.GetValues<Backend>())
            if (backend.Name() == name) return backend;
        throw new ArgumentException($"Unknown backend '{name}' (prosody-muc or dmuc)");
    }
}
