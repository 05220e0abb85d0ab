using System.Diagnostics;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Scansion;

/// <summary>
/// Plays a scansion script against XMPP servers: every [Client] logs in at the server chosen for it (the
/// script's connect_host/connect_port are ignored: test servers listen on ports picked at run time), sends what
/// the script sends and waits for what it expects. A "receives" step passes over non-matching stanzas until one
/// matches; they are reported if none does.
/// </summary>
public sealed class ScansionRunner
{
    private readonly Func<ScansionClient, XmppServerEndpoint?> _serverFor;
    private readonly ScansionOptions _options;

    /// <summary>Every client logs in at <paramref name="server"/>.</summary>
    public ScansionRunner(XmppServerEndpoint server, ScansionOptions? options = null) : this(_ => server, options)
    {
    }

    /// <summary>Each client logs in where <paramref name="serverFor"/> says; null means no server serves it (the step fails).</summary>
    public ScansionRunner(Func<ScansionClient, XmppServerEndpoint?> serverFor, ScansionOptions? options = null)
    {
        _serverFor = serverFor;
        _options = options ?? ScansionOptions.Default;
    }

    public async Task<ScansionResult> RunAsync(ScansionScript script, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var run = new ScriptRun(script, _serverFor, _options, cancellationToken);
        var failure = await run.RunStepsAsync();
        return new ScansionResult(script, failure, stopwatch.Elapsed, run.Transcript);
    }

    /// <summary>The state of one run: the clients' connections and what has happened so far.</summary>
    private sealed class ScriptRun(ScansionScript script, Func<ScansionClient, XmppServerEndpoint?> serverFor, ScansionOptions options,
        CancellationToken cancellationToken)
        : IAsyncDisposable
    {
        private readonly Dictionary<string, XmppTestClient> _clients = new(StringComparer.Ordinal);
        private readonly List<string> _transcript = [];
        private string? _lastSender;

        public IReadOnlyList<string> Transcript => _transcript;

        public async Task<ScansionFailure?> RunStepsAsync()
        {
            foreach (var step in script.Steps)
            {
                try
                {
                    await RunStepAsync(step);
                }
                catch (StepFailedException failed)
                {
                    return new ScansionFailure(step, failed.Message, failed.ExpectedXml, failed.Skipped);
                }
                catch (Exception error) when (error is XmppNegotiationException or IOException or FormatException or System.Xml.XmlException)
                {
                    return new ScansionFailure(step, $"{error.GetType().Name}: {error.Message}", null, []);
                }
            }
            return null;
        }

        private Task RunStepAsync(ScansionStep step) => step switch
        {
            ConnectStep connect => ConnectAsync(connect),
            DisconnectStep disconnect => DisconnectAsync(disconnect),
            SendStep send => SendAsync(send),
            ReceiveStep receive => ReceiveAsync(receive),
            ReceiveNothingStep nothing => ReceiveNothingAsync(nothing),
            NetsplitStep netsplit => RunDrillAsync(netsplit),
            _ => throw new NotSupportedException($"Unknown step {step.GetType().Name}"),
        };

        private async Task RunDrillAsync(NetsplitStep step)
        {
            if (options.Drill is not { } drill) throw new StepFailedException("this environment cannot cut links (no ILinkDrill)");
            if (step.Cut is { } cut) await drill.CutAsync(cut.A, cut.B, cancellationToken);
            else await drill.HealAsync(cancellationToken);
            Log(step, "done");
        }

        private async Task ConnectAsync(ConnectStep step)
        {
            if (_clients.ContainsKey(step.ClientName))
            {
                throw new StepFailedException($"{step.ClientName} is already connected");
            }
            var account = script.Client(step.ClientName);
            var server = serverFor(account) ?? throw new StepFailedException($"no test server serves {account.Jid}");
            _clients[step.ClientName] = await XmppTestClient.ConnectAsync(server, account.Jid, account.Password, cancellationToken);
            Log(step, $"connected as {_clients[step.ClientName].FullJid} at {server.Domain} (port {server.Port})");
        }

        private async Task DisconnectAsync(DisconnectStep step)
        {
            // The client object stays: later steps may still name its JID.
            await ConnectedClient(step).DisconnectAsync();
            Log(step, "disconnected");
        }

        private async Task SendAsync(SendStep step)
        {
            var client = KnownClient(step);
            var stanza = ScansionXml.ForSending(ParseStanza(step.StanzaXml));
            if (client.HasDisconnected)
            {
                // Scansion drops stanzas of a disconnected client (muc_outcast_reason ends with one).
                Log(step, $"not sent, {step.ClientName} is disconnected: {Compact(stanza)}");
                return;
            }
            if (_lastSender is not null && _lastSender != step.ClientName)
            {
                await Task.Delay(options.PauseBetweenSenders, cancellationToken);
            }
            _lastSender = step.ClientName;
            await client.SendAsync(stanza, cancellationToken);
            Log(step, $"sent {Compact(stanza)}");
        }

        private async Task ReceiveAsync(ReceiveStep step)
        {
            var client = ConnectedClient(step);
            var expectedXml = ScansionXml.FillInVariables(step.StanzaXml, ResolveVariable);
            var expected = ParseStanza(expectedXml);
            var skipped = new List<SkippedStanza>();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < options.ReceiveTimeout)
            {
                var stanza = await client.TryReceiveAsync(options.ReceiveTimeout - deadline.Elapsed, cancellationToken);
                if (stanza is null)
                {
                    break;
                }
                if (StanzaMatcher.FindMismatch(expected, stanza) is { } mismatch)
                {
                    skipped.Add(new SkippedStanza(stanza, mismatch));
                    Log(step, $"skipped {Compact(stanza)}");
                    continue;
                }
                Log(step, $"received {Compact(stanza)}");
                return;
            }
            var why = client.StreamEnded
                ? "the server closed the stream before a matching stanza arrived"
                : $"no matching stanza within {options.ReceiveTimeout.TotalSeconds:0.#} s";
            throw new StepFailedException(why, expectedXml, skipped);
        }

        private async Task ReceiveNothingAsync(ReceiveNothingStep step)
        {
            var client = ConnectedClient(step);
            // A stanza already waiting counts too: it arrived after the previous step, before this one ended.
            if (await client.TryReceiveAsync(options.NothingWindow, cancellationToken) is { } stanza)
            {
                throw new StepFailedException("expected no stanza, but one arrived", null,
                    [new SkippedStanza(stanza, "(any stanza fails 'receives: nothing')")]);
            }
            Log(step, $"received nothing for {options.NothingWindow.TotalSeconds:0.#} s");
        }

        private XElement ParseStanza(string xml) => ScansionXml.ParseStanza(xml, ResolveVariable);

        /// <summary>
        /// ${Romeo's JID} is the bare JID of the [Client] (known before it connects: scripts grant affiliations
        /// to users who have not logged in yet); ${Romeo's full JID} is the JID it was bound to.
        /// </summary>
        private string ResolveVariable(string name)
        {
            const string possessive = "'s ";
            var split = name.LastIndexOf(possessive, StringComparison.Ordinal);
            var clientName = split < 0 ? "" : name[..split];
            var property = split < 0 ? name : name[(split + possessive.Length)..];
            if (script.Clients.All(client => client.Name != clientName))
            {
                throw new StepFailedException($"variable ${{{name}}}: there is no [Client] {clientName}");
            }
            var connected = _clients.GetValueOrDefault(clientName);
            return property switch
            {
                "JID" => connected?.BareJid ?? script.Client(clientName).Jid.Split('/', 2)[0],
                "full JID" => connected?.FullJid
                    ?? throw new StepFailedException($"variable ${{{name}}}: {clientName} has not connected yet"),
                _ => throw new StepFailedException($"unknown variable ${{{name}}} (known: ${{X's full JID}}, ${{X's JID}})"),
            };
        }

        private XmppTestClient KnownClient(ScansionStep step) =>
            _clients.TryGetValue(step.ClientName, out var client)
                ? client
                : throw new StepFailedException($"{step.ClientName} has not connected");

        private XmppTestClient ConnectedClient(ScansionStep step)
        {
            var client = KnownClient(step);
            return client.HasDisconnected ? throw new StepFailedException($"{step.ClientName} has disconnected") : client;
        }

        private void Log(ScansionStep step, string what) => _transcript.Add($"line {step.LineNumber} {step.ClientName}: {what}");

        private static string Compact(XElement stanza) =>
            ScansionXml.WithoutIndentation(stanza).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces);

        public async ValueTask DisposeAsync()
        {
            // Disconnect in parallel: each polite close waits for the server's reply.
            await Task.WhenAll(_clients.Values.Select(client => client.DisposeAsync().AsTask()));
        }
    }

    private sealed class StepFailedException(string reason, string? expectedXml = null, IReadOnlyList<SkippedStanza>? skipped = null)
        : Exception(reason)
    {
        public string? ExpectedXml { get; } = expectedXml;
        public IReadOnlyList<SkippedStanza> Skipped { get; } = skipped ?? [];
    }
}
