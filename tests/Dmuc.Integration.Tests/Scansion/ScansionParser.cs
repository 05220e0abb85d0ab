using System.Text.RegularExpressions;

namespace Dmuc.Integration.Tests.Scansion;

/// <summary>
/// Reads the scansion script format: '#' comments (the first one is the title), [Client] blocks of indented
/// "key: value" lines, a ----- separator, then action lines, each sends/receives followed by indented XML.
/// </summary>
public static partial class ScansionParser
{
    [GeneratedRegex(@"^(?<client>\S.*?) (?<action>connects|disconnects|sends:|receives:)\s*(?<rest>.*)$")]
    private static partial Regex ActionLine();

    [GeneratedRegex(@"^Netsplit (?:cuts (?<a>\S+) (?<b>\S+)|(?<heal>heals))\s*$")]
    private static partial Regex NetsplitLine();

    [GeneratedRegex(@"^\[Client\]\s+(?<name>\S.*?)\s*$")]
    private static partial Regex ClientHeader();

    [GeneratedRegex(@"^\s+(?<key>[a-z_]+):\s*(?<value>.*?)\s*$")]
    private static partial Regex ClientProperty();

    public static ScansionScript ParseFile(string path) =>
        Parse(Path.GetFileNameWithoutExtension(path), path, File.ReadAllLines(path));

    public static ScansionScript Parse(string name, string path, IReadOnlyList<string> lines)
    {
        var reader = new LineReader(name, lines);
        var (title, clients) = ParseHeader(reader);
        var steps = ParseSteps(reader, clients.Select(client => client.Name).ToHashSet());
        return new ScansionScript(name, path, title, clients, steps);
    }

    private static (string Title, List<ScansionClient> Clients) ParseHeader(LineReader reader)
    {
        string? title = null;
        var clients = new List<ScansionClient>();
        ClientBuilder? client = null;
        while (reader.TryNext(out var line, out var lineNumber))
        {
            if (IsSeparator(line))
            {
                if (client is not null)
                {
                    clients.Add(client.Build(reader));
                }
                return (title ?? reader.Name, clients);
            }
            if (line.StartsWith('#'))
            {
                title ??= line.TrimStart('#').Trim();
            }
            else if (ClientHeader().Match(line) is { Success: true } header)
            {
                if (client is not null)
                {
                    clients.Add(client.Build(reader));
                }
                client = new ClientBuilder(header.Groups["name"].Value, lineNumber);
            }
            else if (ClientProperty().Match(line) is { Success: true } property && client is not null)
            {
                client.Properties[property.Groups["key"].Value] = property.Groups["value"].Value;
            }
            else if (!string.IsNullOrWhiteSpace(line))
            {
                throw reader.Error(lineNumber, $"unexpected line before the ----- separator: '{line}'");
            }
        }
        throw reader.Error(reader.LineCount, "no ----- separator between the clients and the steps");
    }

    private static List<ScansionStep> ParseSteps(LineReader reader, IReadOnlySet<string> clientNames)
    {
        var steps = new List<ScansionStep>();
        while (reader.TryNext(out var line, out var lineNumber))
        {
            if (string.IsNullOrWhiteSpace(line) || line.StartsWith('#'))
            {
                continue;
            }
            if (NetsplitLine().Match(line) is { Success: true } netsplit)
            {
                steps.Add(new NetsplitStep(lineNumber, netsplit.Groups["heal"].Success ? null : (netsplit.Groups["a"].Value, netsplit.Groups["b"].Value)));
                continue;
            }
            var action = ActionLine().Match(line);
            if (!action.Success)
            {
                throw reader.Error(lineNumber, $"not an action ('X connects', 'X sends:', 'X receives:', 'X disconnects'): '{line}'");
            }
            var client = action.Groups["client"].Value;
            if (!clientNames.Contains(client))
            {
                throw reader.Error(lineNumber, $"'{client}' is not a declared [Client]");
            }
            var rest = action.Groups["rest"].Value.Trim();
            ScansionStep step = (action.Groups["action"].Value, rest) switch
            {
                ("connects", "") => new ConnectStep(lineNumber, client),
                ("disconnects", "") => new DisconnectStep(lineNumber, client),
                ("receives:", "nothing") => new ReceiveNothingStep(lineNumber, client),
                ("receives:", "") => new ReceiveStep(lineNumber, client, ReadStanzaBlock(reader, lineNumber)),
                ("sends:", "") => new SendStep(lineNumber, client, ReadStanzaBlock(reader, lineNumber)),
                _ => throw reader.Error(lineNumber, $"unexpected text after the action: '{line}'"),
            };
            steps.Add(step);
        }
        return steps;
    }

    /// <summary>The indented lines after a sends:/receives: line (blank lines inside are kept).</summary>
    private static string ReadStanzaBlock(LineReader reader, int actionLineNumber)
    {
        var block = new List<string>();
        while (reader.TryPeek(out var line) && (line.Length == 0 || char.IsWhiteSpace(line[0])))
        {
            reader.TryNext(out _, out _);
            block.Add(line);
        }
        // Drop the common indentation so the XML reads as written when a failure report quotes it.
        var indentation = block.Where(line => line.Trim().Length > 0)
            .Select(line => line.Length - line.TrimStart().Length).DefaultIfEmpty(0).Min();
        var xml = string.Join('\n', block.Select(line => line.Length >= indentation ? line[indentation..] : "")).Trim();
        if (xml.Length == 0)
        {
            throw reader.Error(actionLineNumber, "a sends:/receives: step needs an indented stanza below it");
        }
        try
        {
            ScansionXml.ParseStanza(xml, ScansionXml.PlaceholderForValidation);
        }
        catch (Exception error) when (error is System.Xml.XmlException or FormatException)
        {
            throw reader.Error(actionLineNumber, $"the stanza below is not usable XML: {error.Message}");
        }
        return xml;
    }

    private static bool IsSeparator(string line) => line.Trim() is { Length: >= 3 } trimmed && trimmed.All(c => c == '-');

    private sealed class ClientBuilder(string name, int lineNumber)
    {
        public Dictionary<string, string> Properties { get; } = new(StringComparer.Ordinal);

        public ScansionClient Build(LineReader reader)
        {
            var unknown = Properties.Keys.Except(["jid", "password", "connect_host", "connect_port"]).ToList();
            if (unknown.Count > 0)
            {
                throw reader.Error(lineNumber, $"[Client] {name}: unknown properties {string.Join(", ", unknown)}");
            }
            if (!Properties.TryGetValue("jid", out var jid))
            {
                throw reader.Error(lineNumber, $"[Client] {name} has no jid");
            }
            int? port = Properties.TryGetValue("connect_port", out var portText) ? int.Parse(portText) : null;
            return new ScansionClient(name, jid, Properties.GetValueOrDefault("password", ""), Properties.GetValueOrDefault("connect_host"), port);
        }
    }

    private sealed class LineReader(string name, IReadOnlyList<string> lines)
    {
        private int _next;

        public string Name => name;
        public int LineCount => lines.Count;

        public bool TryNext(out string line, out int lineNumber)
        {
            lineNumber = _next + 1;
            if (!TryPeek(out line))
            {
                return false;
            }
            _next++;
            return true;
        }

        public bool TryPeek(out string line)
        {
            line = _next < lines.Count ? lines[_next].TrimEnd('\r') : "";
            return _next < lines.Count;
        }

        public ScansionParseException Error(int lineNumber, string message) => new($"{name}.scs line {lineNumber}: {message}");
    }
}

public sealed class ScansionParseException(string message) : Exception(message);
