using System.CommandLine;
using System.Text.Json;
using Dmuc.Management.Contracts;
using Spectre.Console;

namespace Dmuc.Cli;

/// <summary>
/// The dmuc command line: every command asks one node's management endpoint and shows the answer as a table,
/// or as the endpoint's JSON with --json.
/// </summary>
public sealed partial class DmucCli
{
    public const string TokenVariable = "DMUC_TOKEN";

    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly HttpMessageHandler? _handler;
    private readonly NodeLocator _locator;
    private readonly Option<string?> _node;
    private readonly Option<string?> _token;
    private readonly Option<bool> _json = new("--json") { Description = "Print the endpoint's JSON instead of tables", Recursive = true };

    /// <param name="environment">Where DMUC_NODE, DMUC_LOCAL_RUN_DIR and DMUC_TOKEN are read from (the process environment, or a test's).</param>
    /// <param name="handler">The HTTP handler to use; null for a fresh one.</param>
    /// <param name="locator">Which node to ask without --node; null for this process's (<see cref="NodeLocator.ForThisProcess"/>).</param>
    public DmucCli(TextWriter output, TextWriter error, Func<string, string?> environment, HttpMessageHandler? handler = null,
        NodeLocator? locator = null)
    {
        _output = output;
        _error = error;
        _handler = handler;
        _locator = locator ?? NodeLocator.ForThisProcess(environment);
        _node = new Option<string?>("--node", "-n")
        {
            Description = $"The node's management endpoint, http://HOST:PORT ({NodeLocator.Help})",
            Recursive = true,
        };
        _token = new Option<string?>("--token", "-t")
        {
            Description = $"Bearer token of the endpoint (default: ${TokenVariable})",
            DefaultValueFactory = _ => environment(TokenVariable),
            Recursive = true,
        };
        Root = BuildRoot();
    }

    public RootCommand Root { get; }

    public static Task<int> RunAsync(string[] args) =>
        new DmucCli(Console.Out, Console.Error, Environment.GetEnvironmentVariable).InvokeAsync(args);

    public Task<int> InvokeAsync(string[] args, CancellationToken cancellationToken = default) =>
        Root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = _output, Error = _error }, cancellationToken);

    private RootCommand BuildRoot()
    {
        var root = new RootCommand("Operate a Dmuc cluster through any node's management endpoint.\n\n" + ExitCodes.Help)
        {
            _node, _token, _json,
        };
        root.Subcommands.Add(ClusterCommand());
        root.Subcommands.Add(NodeCommand());
        root.Subcommands.Add(ActorsCommand());
        root.Subcommands.Add(RoomsCommand());
        root.Subcommands.Add(RoomCommand());
        root.Subcommands.Add(NetsplitCommand());
        root.Subcommands.Add(CertsCommand());
        return root;
    }

    private Command ClusterCommand()
    {
        var show = Asking(new Command("show", "Members: address, XMPP host, status, reachability, roles"),
            (_, client, ct) => client.GetAsync<ClusterView>(ManagementApi.Cluster, ct), Views.Cluster);
        return new Command("cluster", "The Akka.NET cluster of Dmuc nodes")
        {
            show,
            MemberCommand("leave", "Ask a member to leave the cluster gracefully", ManagementApi.ClusterLeave),
            MemberCommand("down", "Mark a member that is gone as down (it will not come back without a restart)", ManagementApi.ClusterDown),
        };
    }

    private Command MemberCommand(string name, string description, string route)
    {
        var node = new Argument<string>("NODE") { Description = "The member's address, akka.tcp://dmuc@HOST:PORT" };
        return Asking(new Command(name, description) { node },
            (parse, client, ct) => client.PostAsync<ClusterActionAccepted>(route, new ClusterNodeRequest(parse.GetRequiredValue(node)), ct),
            Views.ClusterAction);
    }

    private Command ActorsCommand()
    {
        var path = new Argument<string>("PATH") { Description = "Where to start", DefaultValueFactory = _ => "/user" };
        var depth = new Option<int>("--depth", "-d") { Description = "How many levels to show", DefaultValueFactory = _ => 3 };
        var tree = Asking(new Command("tree", "The actor hierarchy under PATH") { path, depth },
            (parse, client, ct) => client.GetAsync<ActorTreeView>(ManagementApi.ActorTree(parse.GetRequiredValue(path), parse.GetValue(depth)), ct),
            Views.ActorTree);
        return new Command("actors", "The node's actors") { tree };
    }

    private Command RoomsCommand()
    {
        var limit = new Option<int?>("--limit", "-n") { Description = "Show at most this many rooms (one page; the next starts with --after)" };
        var after = new Option<string?>("--after") { Description = "Start after this room JID, in JID order" };
        var list = Asking(new Command("list", "The service's rooms in JID order, with occupants, replica hosts and the node each lives on") { limit, after },
            (parse, client, ct) => RoomPagesAsync(client, parse.GetValue(after), parse.GetValue(limit), ct), Views.Rooms);
        return new Command("rooms", "The rooms of the MUC service") { list };
    }

    /// <summary>
    /// With a limit, one page of at most that many rooms; without, every room, following the node's pages. A replica node
    /// answers with its replicas at once (it has no pages).
    /// </summary>
    private static async Task<RoomsView> RoomPagesAsync(ManagementClient client, string? after, int? limit, CancellationToken cancellationToken)
    {
        if (limit is < 1) throw new ManagementException("--limit must be at least 1", ExitCodes.Failed);
        var pageSize = Math.Min(limit ?? ManagementApi.MaxRoomsPerPage, ManagementApi.MaxRoomsPerPage);
        var view = await client.GetAsync<RoomsView>(ManagementApi.RoomsPage(after, pageSize), cancellationToken);
        var rooms = view.Rooms.ToList();
        while (view.NextAfter is { } next && (limit is null || rooms.Count < limit))
        {
            view = await client.GetAsync<RoomsView>(ManagementApi.RoomsPage(next, Math.Min(pageSize, (limit ?? int.MaxValue) - rooms.Count)), cancellationToken);
            rooms.AddRange(view.Rooms);
        }
        return view with { Rooms = rooms };
    }

    private Command RoomCommand()
    {
        Argument<string> Room() => new("ROOM") { Description = "The room's JID, or just its name on the node's MUC domain" };

        var showRoom = Room();
        var show = Asking(new Command("show", "Occupants by host, replica links, history length, journal position") { showRoom },
            (parse, client, ct) => client.GetAsync<RoomDetails>(ManagementApi.Room(parse.GetRequiredValue(showRoom)), ct), Views.Room);

        var historyRoom = Room();
        var last = new Option<int>("--last") { Description = "How many of the latest messages", DefaultValueFactory = _ => 20 };
        var history = Asking(new Command("history", "The room's kept discussion history") { historyRoom, last },
            (parse, client, ct) => client.GetAsync<RoomHistoryView>(ManagementApi.RoomHistory(parse.GetRequiredValue(historyRoom), parse.GetValue(last)), ct),
            Views.History);

        var kickRoom = Room();
        var nick = new Argument<string>("NICK") { Description = "The occupant's nickname" };
        var reason = new Option<string?>("--reason", "-r") { Description = "Told to the room with the kick" };
        var kick = Asking(new Command("kick", "Kick an occupant, as the service (status 307)") { kickRoom, nick, reason },
            (parse, client, ct) => client.PostAsync<RoomActionDone>(ManagementApi.RoomKick(parse.GetRequiredValue(kickRoom)),
                new KickRequest(parse.GetRequiredValue(nick), parse.GetValue(reason)), ct),
            Views.RoomAction);

        var destroyRoom = Room();
        var destroy = Asking(new Command("destroy", "Destroy the room: occupants are told, its history is gone") { destroyRoom },
            (parse, client, ct) => client.PostAsync<RoomActionDone>(ManagementApi.RoomDestroy(parse.GetRequiredValue(destroyRoom)), null, ct),
            Views.RoomAction);

        return new Command("room", "One room") { show, history, kick, destroy };
    }

    /// <summary>
    /// Makes <paramref name="command"/> ask the node with <paramref name="ask"/> and show the answer; <paramref name="outcome"/>
    /// turns an answer that tells of a failure (a node that did not answer a heal) into its exit code.
    /// </summary>
    private Command Asking<T>(Command command, Func<ParseResult, ManagementClient, CancellationToken, Task<T>> ask,
        Action<IAnsiConsole, T> view, Func<T, int>? outcome = null)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (node, problem) = _locator.Locate(parse.GetValue(_node));
            if (node is null)
            {
                await _error.WriteLineAsync($"error: {problem}");
                return ExitCodes.Failed;
            }
            using var client = new ManagementClient(node.Url, parse.GetValue(_token), _handler);
            try
            {
                var answer = await ask(parse, client, cancellationToken);
                if (parse.GetValue(_json)) await _output.WriteLineAsync(JsonSerializer.Serialize(answer, ManagementApi.Json));
                else view(Terminal(), answer);
                return outcome?.Invoke(answer) ?? ExitCodes.Ok;
            }
            catch (ManagementException failure)
            {
                await _error.WriteLineAsync("error: " + failure.Message);
                if (failure.ExitCode == ExitCodes.NodeUnreachable && !failure.NodeAnswered && node.FoundBy != "--node")
                    await _error.WriteLineAsync($"(asked {node.Url} from {node.FoundBy}; name a node with --node http://HOST:PORT or {NodeLocator.NodeVariable})");
                return failure.ExitCode;
            }
        });
        return command;
    }

    /// <summary>Plain text when the output is not the console (a pipe, a test), wide enough that JIDs do not wrap.</summary>
    private IAnsiConsole Terminal()
    {
        var toConsole = ReferenceEquals(_output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(_output),
            Ansi = toConsole ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = toConsole ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!toConsole) console.Profile.Width = 160;
        return console;
    }
}
