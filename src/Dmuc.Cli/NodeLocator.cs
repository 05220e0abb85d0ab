using System.Text.Json;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli;

/// <summary>A node's management endpoint, and where the CLI found it (told in errors, so a wrong guess is visible).</summary>
public sealed record LocatedNode(Uri Url, string FoundBy);

/// <summary>
/// Which node to ask when the command line does not say: <c>--node</c>, else <c>$DMUC_NODE</c>, else the primary of a
/// local topology that deploy/local/up.sh wrote (<c>$DMUC_LOCAL_RUN_DIR/topology.json</c>, or
/// <c>deploy/local/run/topology.json</c> in the working directory or above it), else a node on this machine at the
/// default address (<see cref="ManagementDefaults.Url"/>, where deploy/single/run.sh and a node started without
/// settings listen).
/// </summary>
public sealed class NodeLocator(Func<string, string?> environment, string workingDirectory, string defaultUrl)
{
    public const string NodeVariable = "DMUC_NODE";
    public const string LocalRunDirectoryVariable = "DMUC_LOCAL_RUN_DIR";
    private const string TopologyFile = "topology.json";
    private static readonly string LocalTopologyPath = Path.Combine("deploy", "local", "run", TopologyFile);

    public static NodeLocator ForThisProcess(Func<string, string?> environment) =>
        new(environment, Environment.CurrentDirectory, ManagementDefaults.Url);

    public const string Help = $"default: ${NodeVariable}, else the local topology's primary (deploy/local/run/topology.json), " +
                               $"else {ManagementDefaults.Url}";

    /// <summary>The node to ask, or null with the reason when what was given is not a URL.</summary>
    public (LocatedNode? Node, string? Problem) Locate(string? given)
    {
        if (!string.IsNullOrWhiteSpace(given)) return Parsed(given, "--node");
        if (environment(NodeVariable) is { Length: > 0 } variable) return Parsed(variable, "$" + NodeVariable);
        if (TopologyFileInUse() is { } topology)
        {
            return PrimaryOf(topology) is { } address
                ? Parsed(address, topology)
                : (null, $"{topology} names no node's management address");
        }
        return Parsed(defaultUrl, "the default address");
    }

    private static (LocatedNode?, string?) Parsed(string given, string foundBy)
    {
        var withScheme = given.Contains("://", StringComparison.Ordinal) ? given : "http://" + given;
        return Uri.TryCreate(withScheme, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttp
            ? (new LocatedNode(url, foundBy), null)
            : (null, $"'{given}' (from {foundBy}) is not a node's management endpoint, http://HOST:PORT");
    }

    private string? TopologyFileInUse()
    {
        if (environment(LocalRunDirectoryVariable) is { Length: > 0 } runDirectory)
        {
            var named = Path.Combine(runDirectory, TopologyFile);
            return File.Exists(named) ? named : null;
        }
        for (var directory = new DirectoryInfo(workingDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, LocalTopologyPath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The primary's management address (the rooms are there), else the first host's.</summary>
    private static string? PrimaryOf(string topologyFile)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(topologyFile));
            var nodes = document.RootElement.GetProperty("hosts").EnumerateArray()
                .Select(host => host.GetProperty("node"))
                .OrderByDescending(node => node.TryGetProperty("role", out var role) && role.GetString() == "primary")
                .ToList();
            return nodes.Select(node => node.TryGetProperty("management_address", out var address) ? address.GetString() : null)
                .FirstOrDefault(address => !string.IsNullOrEmpty(address));
        }
        catch (Exception error) when (error is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            return null;
        }
    }
}
