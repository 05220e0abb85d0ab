using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// Answers a room's archive queries (XEP-0313) from its journal, beside the room rather than in it: the room only
/// decides who may ask what, and its live messages never wait behind a reader paging through years of history.
/// Keeps an <see cref="ArchiveIndex"/> (no message text) caught up from the journal before each query; a page reads
/// its messages' text from the journal. Queries are answered one at a time, in order.
/// </summary>
public sealed class ArchiveReader : ReceiveActor
{
    public const string ChildName = "archive";

    /// <summary>
    /// Every room's reader shares one thread (<see cref="Persistence.JournalHosting"/> configures it): a client paging
    /// through a large archive takes at most that thread from the rooms' live traffic, whatever the readers do.
    /// </summary>
    public const string Dispatcher = "dmuc.archive-reader-dispatcher";

    /// <summary>
    /// The room accepted <see cref="Query"/> when its journal was written up to <see cref="UpTo"/>: the answer is the
    /// archive as it was then, whatever the room writes while the reader reads. It goes back to the room as
    /// <see cref="PageRead"/>.
    /// </summary>
    public sealed record ReadPage(ArchiveQuery Query, long UpTo);

    /// <summary>What the requester gets: the page's results and the final iq, or an error.</summary>
    public sealed record PageRead(IReadOnlyList<Delivery> Deliveries);

    /// <summary>
    /// The room asks which of its archived messages retention expired, in its journal up to <see cref="UpTo"/>; it
    /// recorded their expiry up to <see cref="RecordedThrough"/>. Answered with <see cref="ExpiryFound"/> when
    /// retention reached further.
    /// </summary>
    public sealed record FindExpired(long UpTo, long RecordedThrough);

    /// <summary>Retention expired every archived message up to <see cref="Newest"/>, which it expired last.</summary>
    public sealed record ExpiryFound(ArchivedMessage Newest);

    /// <summary>
    /// <see cref="Command"/> names a message the room no longer keeps in memory (XEP-0425 moderation): does the archive,
    /// as the journal holds it up to <see cref="UpTo"/>, still hold it? Answered with <see cref="LookedUp"/>.
    /// </summary>
    public sealed record LookUp(HandleStanza Command, string StanzaId, long UpTo);

    /// <summary>The command to handle again, now with the archive's answer.</summary>
    public sealed record LookedUp(HandleStanza Command);

    private readonly string _persistenceId;
    private readonly ArchiveRetention? _retention;
    private readonly ArchiveIndex _index = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SqlReadJournal _journal = PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
    // The journal reads and their decoding run as stream stages: on the reader's dispatcher too.
    private readonly IMaterializer _materializer = Context.Materializer(ActorMaterializerSettings.Create(Context.System).WithDispatcher(Dispatcher));

    public ArchiveReader(string persistenceId, ArchiveRetention? retention)
    {
        _persistenceId = persistenceId;
        _retention = retention;
        ReceiveAsync<ReadPage>(AnswerQuery);
        ReceiveAsync<FindExpired>(ReportExpiry);
        ReceiveAsync<LookUp>(AnswerLookUp);
    }

    /// <summary>The room's reader child, started with the first query or expiry check.</summary>
    public static IActorRef Of(IActorContext room, string persistenceId, ArchiveRetention? retention)
    {
        var reader = room.Child(ChildName);
        return reader.IsNobody()
            ? room.ActorOf(Props.Create(() => new ArchiveReader(persistenceId, retention)).WithDispatcher(Dispatcher), ChildName)
            : reader;
    }

    private async Task AnswerQuery(ReadPage read)
    {
        var room = Sender;
        var query = read.Query;
        IReadOnlyList<Delivery> answer;
        try
        {
            await CatchUp(read.UpTo);
            answer = _index.Select(query) is { } page
                ? ArchiveResults.Page(query, page, await Entries(page))
                : [ArchiveResults.Error(query, StanzaErrorCondition.ItemNotFound, "No message with that id is in the archive")];
        }
        catch (Exception failure)
        {
            _log.Warning("Archive of {0} not read: {1}", _persistenceId, failure.Message);
            answer = [ArchiveResults.Error(query, StanzaErrorCondition.InternalServerError, "The archive could not be read")];
        }
        room.Tell(new PageRead(answer));
    }

    private async Task AnswerLookUp(LookUp lookUp)
    {
        var room = Sender;
        if (await TryCatchUp(lookUp.UpTo, "a lookup"))
        {
            room.Tell(new LookedUp(lookUp.Command with { ArchiveLookup = new ArchiveLookup(lookUp.StanzaId, _index.Holds(lookUp.StanzaId)) }));
            return;
        }
        var stanza = lookUp.Command.Stanza;
        var error = StanzaError.Reply(stanza, StanzaErrorCondition.InternalServerError, "The archive could not be read", "wait");
        room.Tell(new PageRead([new Delivery(Jid.Parse(stanza.Attribute("from")!.Value), error)]));
    }

    private async Task ReportExpiry(FindExpired find)
    {
        var room = Sender;
        if (await TryCatchUp(find.UpTo, "its expiry") && _index.LastExpired is { } newest && newest.SequenceNr > find.RecordedThrough)
            room.Tell(new ExpiryFound(newest));
    }

    /// <summary><see cref="CatchUp"/>, or false (logged) when the journal could not be read.</summary>
    private async Task<bool> TryCatchUp(long upTo, string purpose)
    {
        try
        {
            await CatchUp(upTo);
            return true;
        }
        catch (Exception failure)
        {
            _log.Warning("Archive of {0} not read for {1}: {2}", _persistenceId, purpose, failure.Message);
            return false;
        }
    }

    /// <summary>
    /// Indexes what the journal holds up to <paramref name="upTo"/> that the index lacks, and lets go of what retention
    /// expired by now: a query never shows an expired message, whether or not the room recorded its expiry yet.
    /// </summary>
    private async Task CatchUp(long upTo)
    {
        // Streamed into the index, not collected: the first query of a large room reads its whole journal. The
        // actor waits for the stream (ReceiveAsync), so nothing else touches the index meanwhile.
        if (upTo > _index.IndexedUpTo)
            await Journal(_index.IndexedUpTo + 1, upTo).RunForeach(envelope =>
            {
                if (envelope.Event is RoomEvent @event) _index.Add(envelope.SequenceNr, @event);
            }, _materializer);
        if (_retention is { } retention) _index.Expire(retention, DateTimeOffset.UtcNow);
    }

    /// <summary>The page's messages as the journal holds them: one read over the range they span, keeping only them
    /// (a page of one occupant's messages may span much of a busy room's journal).</summary>
    private async Task<IReadOnlyList<HistoryEntry>> Entries(ArchivePage page)
    {
        if (page.Messages.Count == 0) return [];
        var wanted = page.Messages.Select(message => message.SequenceNr).ToHashSet();
        var events = await Journal(page.Messages.Min(message => message.SequenceNr), page.Messages.Max(message => message.SequenceNr))
            .Where(envelope => wanted.Contains(envelope.SequenceNr) && envelope.Event is HistoryMessageAdded)
            .RunWith(Sink.Seq<EventEnvelope>(), _materializer);
        var bySequenceNr = events.ToDictionary(envelope => envelope.SequenceNr, envelope => ((HistoryMessageAdded)envelope.Event).Entry);
        return page.Messages.Select(message => bySequenceNr[message.SequenceNr]).ToList();
    }

    private Source<EventEnvelope, NotUsed> Journal(long from, long to) => _journal.CurrentEventsByPersistenceId(_persistenceId, from, to);
}
