namespace Dmuc.Cli;

/// <summary>What the dmuc process exits with, so that scripts can tell failures apart.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Bad usage, or the node refused or failed the request.</summary>
    public const int Failed = 1;
    /// <summary>No answer from the node: wrong URL, endpoint off, node down, or timed out; or, for <c>netsplit heal</c> and
    /// <c>netsplit cut</c>, from one of the nodes it asked.</summary>
    public const int NodeUnreachable = 2;
    /// <summary>No such room, occupant, actor path, cluster member, or XMPP host (netsplit drills).</summary>
    public const int NotFound = 3;
    /// <summary>The node wants a bearer token and got none or a wrong one.</summary>
    public const int Unauthorized = 4;

    public const string Help = """
        Exit codes:
          0  success
          1  bad usage, or the node refused or failed the request
          2  node unreachable (wrong --node, endpoint off, node down, timeout;
             netsplit heal/cut: a node of the cluster did not answer)
          3  not found (room, occupant, actor path, cluster member, XMPP host)
          4  unauthorized (missing or wrong --token)
        """;
}
