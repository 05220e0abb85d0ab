using System.Globalization;
using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.NetsplitBench;

/// <summary>
/// Counts what one host's users of the benchmark room received, as the host's XMPP server would have been handed
/// it (the node's sink), without keeping the stanzas: whether each user has seen itself enter, each user's roster
/// built from its presences, and, per round, how many copies of each round message each user got and how many
/// of them were delayed. Runs on the delivering actor's thread, at the moment of delivery.
/// </summary>
public sealed class HostTally
{
    public const string BodyPrefix = "netsplit ";

    private readonly Lock _lock = new();
    private readonly Jid _room;
    private readonly Dictionary<Jid, int> _userIndex;
    private readonly string[] _ownOccupantJids;
    private readonly Dictionary<string, RosterEntry>[] _rosters;
    private readonly bool[] _joined;
    private readonly List<ChatUser> _refusedEntries = [];
    private int _joinedCount;
    private TaskCompletionSource<DateTime> _allJoined = NewCompletion();

    private int _round;
    private int _messages;
    private byte[] _copies = [];
    private long _distinct;
    private TaskCompletionSource<DateTime> _roundComplete = NewCompletion();

    public HostTally(string host, Jid room, IReadOnlyList<ChatUser> users)
    {
        Host = host;
        _room = room;
        Users = users;
        _userIndex = users.Select((user, index) => (user, index)).ToDictionary(pair => Jid.Parse(pair.user.Jid), pair => pair.index);
        _ownOccupantJids = users.Select(user => room.WithResource(user.Nick).ToString()).ToArray();
        _rosters = users.Select(_ => new Dictionary<string, RosterEntry>(StringComparer.Ordinal)).ToArray();
        _joined = new bool[users.Count];
    }

    public string Host { get; }
    public IReadOnlyList<ChatUser> Users { get; }

    /// <summary>Every delivery to this host's users so far.</summary>
    public long Deliveries { get; private set; }
    public long Errors { get; private set; }
    /// <summary>Copies beyond the first of a round message, this round.</summary>
    public long Duplicates { get; private set; }
    /// <summary>Round-message copies that carried an XEP-0203 delay, this round.</summary>
    public long Delayed { get; private set; }
    /// <summary>Round messages of another round (or unparsable), this round.</summary>
    public long Stray { get; private set; }

    /// <summary>Completes when every user has its own presence (status 110), with the time the last one got it.</summary>
    public Task<DateTime> AllJoined => _allJoined.Task;

    /// <summary>Completes when every user has every message of the current round, with the time of the last delivery.</summary>
    public Task<DateTime> RoundComplete => _roundComplete.Task;

    public int JoinedCount
    {
        get
        {
            lock (_lock) return _joinedCount;
        }
    }

    /// <summary>Users not in yet whose entry was answered with an error since the last call (a split replica refuses entries).</summary>
    public IReadOnlyList<ChatUser> TakeRefusedEntries()
    {
        lock (_lock)
        {
            var refused = _refusedEntries.Where(user => !_joined[_userIndex[Jid.Parse(user.Jid)]]).Distinct().ToList();
            _refusedEntries.Clear();
            return refused;
        }
    }

    public long Distinct
    {
        get
        {
            lock (_lock) return _distinct;
        }
    }

    public long Expected => (long)Users.Count * _messages;

    public static string Body(int round, int index) => $"{BodyPrefix}{round}.{index}";

    public void BeginRound(int round, int messages)
    {
        lock (_lock)
        {
            _round = round;
            _messages = messages;
            _copies = new byte[Users.Count * messages];
            _distinct = 0;
            Duplicates = Delayed = Stray = 0;
            _roundComplete = NewCompletion();
            if (Users.Count == 0 || messages == 0) _roundComplete.TrySetResult(DateTime.UtcNow);
        }
    }

    /// <summary>The roster the first user of this host sees now.</summary>
    public IReadOnlyDictionary<string, RosterEntry> RosterOfFirstUser()
    {
        lock (_lock) return new Dictionary<string, RosterEntry>(_rosters[0], StringComparer.Ordinal);
    }

    /// <summary>Users whose roster (nicks, affiliations, roles, shows, statuses) differs from <paramref name="expected"/>.</summary>
    public IReadOnlyList<string> RosterMismatches(IReadOnlyDictionary<string, RosterEntry> expected)
    {
        lock (_lock)
        {
            return Users.Select((user, index) => (user, roster: _rosters[index]))
                .Where(pair => pair.roster.Count != expected.Count
                               || pair.roster.Any(entry => !expected.TryGetValue(entry.Key, out var seen) || seen != entry.Value))
                .Select(pair => $"{pair.user.Nick} sees {pair.roster.Count} occupants")
                .ToList();
        }
    }

    public void Observe(IReadOnlyList<Delivery> deliveries)
    {
        lock (_lock)
        {
            foreach (var delivery in deliveries)
            {
                if (!_userIndex.TryGetValue(delivery.To, out var user)) continue;
                Deliveries++;
                var stanza = delivery.Stanza;
                if (stanza.Attribute("type")?.Value == "error")
                {
                    Errors++;
                    if (!_joined[user] && stanza.Name == Ns.Client + "presence") _refusedEntries.Add(Users[user]);
                }
                else if (stanza.Name == Ns.Client + "presence") ObservePresence(user, stanza);
                else if (stanza.Name == Ns.Client + "message") ObserveMessage(user, stanza);
            }
        }
    }

    private void ObservePresence(int user, XElement presence)
    {
        RosterView.Apply(_rosters[user], presence, _room);
        if (_joined[user] || presence.Attribute("type") is not null || presence.Attribute("from")?.Value != _ownOccupantJids[user]
            || !presence.HasStatus(110)) return;
        _joined[user] = true;
        if (++_joinedCount == Users.Count) _allJoined.TrySetResult(DateTime.UtcNow);
    }

    private void ObserveMessage(int user, XElement message)
    {
        var body = message.Element(Ns.Client + "body")?.Value;
        if (body is null || !body.StartsWith(BodyPrefix, StringComparison.Ordinal)) return;
        var parts = body[BodyPrefix.Length..].Split('.');
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var round) || round != _round
            || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var index) || index < 0 || index >= _messages)
        {
            Stray++;
            return;
        }
        if (message.Element(Ns.Delay + "delay") is not null) Delayed++;
        ref var copies = ref _copies[user * _messages + index];
        if (copies++ > 0)
        {
            Duplicates++;
            return;
        }
        if (++_distinct == Expected) _roundComplete.TrySetResult(DateTime.UtcNow);
    }

    private static TaskCompletionSource<DateTime> NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
