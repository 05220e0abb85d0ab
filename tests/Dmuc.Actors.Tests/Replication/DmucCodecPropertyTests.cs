using System.Globalization;
using System.Xml.Linq;
using Akka.Actor;
using CsCheck;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>Whatever the primary and replicas say to each other comes out of the wire as it went in.</summary>
public sealed class DmucCodecPropertyTests
{
    private const string Room = "wallops@channel.avalon.irc";
    // The serializer only counts what it carries on its actor system's metrics: one quiet system serves every case.
    private static readonly DmucProtocolSerializer Serializer =
        new((ExtendedActorSystem)ActorSystem.Create("codec-properties", "akka.loglevel = WARNING"));

    private static readonly Gen<string> Word = StringOf("abcdefXYZ0189_-", 1, 8);
    /// <summary>Text as users write it, including what XML must escape, and non-ASCII (a surrogate pair too).</summary>
    private static readonly Gen<string> Text =
        Gen.Frequency((6, StringOf("ab Z9<>&'\"\n\téß中", 0, 16)), (1, Gen.Const("🙂 smile")));
    private static readonly Gen<string> Host = Gen.OneOf("killrc.oulubox.irc", "eris.dclxvii.irc", "vesa.yeggmaex.irc");

    private static readonly Gen<Jid> UserJid =
        Gen.Select(Word, Host, Word, (local, host, resource) => Jid.Parse($"{local.ToLowerInvariant()}@{host}/{resource} {resource}"));

    private static readonly Gen<XElement> Stanza =
        from kind in Gen.OneOf("message", "presence", "iq")
        from nick in Word
        from type in Gen.OneOf<string?>(null, "groupchat", "chat", "unavailable", "result")
        from id in OrNone(Text)
        from body in OrNone(Text)
        from realJid in OrNone(UserJid)
        from foreign in OrNone(Text)
        select new XElement(Ns.Client + kind,
            new XAttribute("from", $"{Room}/{nick}"),
            type is null ? null : new XAttribute("type", type),
            id is null ? null : new XAttribute("id", id),
            body is null ? null : new XElement(Ns.Client + "body", body),
            realJid is null ? null : new XElement(Ns.MucUser + "x",
                new XElement(Ns.MucUser + "item", new XAttribute("affiliation", "none"), new XAttribute("role", "participant"),
                    new XAttribute("jid", realJid.ToString()))),
            foreign is null ? null : new XElement((XNamespace)"urn:example:foreign" + "thing", new XAttribute("note", foreign), foreign));

    private static readonly Gen<IReadOnlyList<Jid>?> JidList =
        Gen.Frequency<IReadOnlyList<Jid>?>((3, Gen.Const((IReadOnlyList<Jid>?)null)), (1, Gen.Const((IReadOnlyList<Jid>?)Array.Empty<Jid>())),
            (3, UserJid.List[1, 3].Select(list => (IReadOnlyList<Jid>?)list)));

    private static readonly Gen<XElement?> HistoryRequest =
        Gen.OneOf(
            Gen.Const((XElement?)null),
            Gen.Int[0, 50].Select(max => (XElement?)new XElement(Ns.Muc + "history", new XAttribute("maxstanzas", max))),
            Gen.Select(Gen.Int[0, 5000], Gen.Int[0, 86400], (chars, seconds) => (XElement?)new XElement(Ns.Muc + "history",
                new XAttribute("maxchars", chars), new XAttribute("seconds", seconds))));

    /// <summary>The primary's clock to the millisecond, which is what the XEP-0203 stamp carries.</summary>
    private static readonly Gen<DateTimeOffset?> AcceptedAt =
        Gen.Frequency((1, Gen.Const((DateTimeOffset?)null)),
            (2, Gen.Long[0, 4_102_444_800_000L].Select(ms => (DateTimeOffset?)DateTimeOffset.FromUnixTimeMilliseconds(ms))));

    /// <summary>Presences the replica keeps, sent again by nick (an entrant's roster): written on a presence from the room.</summary>
    private static readonly Gen<ReplicaItem> Repeats =
        Gen.Select(UserJid.List[1, 3], Text.List[1, 4], (recipients, nicks) =>
            new ReplicaItem(new XElement(Ns.Client + "presence", new XAttribute("from", Room)), recipients, Repeats: nicks));

    private static readonly Gen<ReplicaItem> StanzaItem =
        from stanza in Stanza
        from recipients in JidList
        from enter in OrNone(Gen.Select(UserJid, HistoryRequest, (jid, history) => new ReplicaEnter(jid, history)))
        from leave in OrNone(UserJid)
        from delay in AcceptedAt
        from except in OrNone(UserJid.List[1, 2])
        select new ReplicaItem(stanza, recipients, enter, leave, delay, except);

    private static readonly Gen<ReplicaItem> Item = Gen.Frequency((5, StanzaItem), (1, Repeats));

    private static readonly Gen<ForwardAck> Ack = Gen.Select(Word, Gen.Long[0, long.MaxValue], (session, upTo) => new ForwardAck(session, upTo));

    private static readonly Gen<ReplicaBatch> Batch =
        from host in Host
        from sequence in Gen.Long[1, long.MaxValue]
        from items in Item.List[0, 6]
        from resyncOf in OrNone(Text)
        from ack in OrNone(Ack)
        from more in Gen.Bool
        from usersBeforeLink in Gen.Bool
        select new ReplicaBatch(Jid.Parse(Room), host, sequence, items, resyncOf, ack, More: resyncOf is not null && more,
            UsersBeforeLink: resyncOf is null && usersBeforeLink);

    private static readonly Gen<ForwardNumber> Number =
        Gen.Select(Word, Gen.Long[1, long.MaxValue], Gen.Long[0, long.MaxValue], (session, number, acked) => new ForwardNumber(session, number, acked));

    private static readonly Gen<HeldStanza> Held =
        Gen.Select(Stanza, Gen.Long[0, 4_102_444_800_000L], Gen.Bool, (stanza, ms, resent) => new HeldStanza(stanza, DateTimeOffset.FromUnixTimeMilliseconds(ms), resent));

    /// <summary>A primary's ping or pong carries its link's last sent batch; a replica's carries none.</summary>
    private static readonly Gen<long?> LastSentSequence =
        Gen.Frequency((1, Gen.Const((long?)null)), (2, Gen.Long[0, long.MaxValue].Select(seq => (long?)seq)));

    private static readonly Gen<RosterEntry> Occupant =
        from nick in Text
        from affiliation in Gen.Enum<Affiliation>()
        from role in Gen.Enum<Role>()
        from show in Gen.OneOf<string?>(null, "away", "chat", "dnd", "xa")
        from status in OrNone(Text)
        select new RosterEntry(nick, affiliation, role, show, status);

    private static readonly Gen<ResyncReplica> Resync =
        from host in Host
        from netjoinId in Text
        from lastSequence in Gen.Long[0, long.MaxValue]
        from lastStanzaId in OrNone(Text)
        from locals in Gen.Select(UserJid, Text).List[0, 4]
        from roster in Occupant.List[0, 5]
        from held in Held.List[0, 3]
        from firstHeld in Gen.Long[1, long.MaxValue]
        from unacked in OrNone(Gen.Select(Word, Gen.Long[1, long.MaxValue], Held.List[0, 3], (session, first, stanzas) => new UnacknowledgedForwards(session, first, stanzas)))
        from more in Gen.Bool
        from part in Gen.Int[1, 5]
        from heldSession in OrNone(Word)
        select new ResyncReplica(Jid.Parse(Room), host, netjoinId, lastSequence, lastStanzaId,
            locals.DistinctBy(local => local.Item1).ToDictionary(local => local.Item1, local => local.Item2), roster, held, firstHeld, unacked,
            more, part, heldSession);

    /// <summary>Every message of the protocol (docs/protocol/dmuc.md and netjoin.md).</summary>
    private static readonly Gen<object> AnyMessage = Gen.OneOf<object>(
        Batch.Select(batch => (object)batch),
        Gen.Select(Stanza, Host, OrNone(Number), Gen.Bool, (stanza, host, number, resent) => (object)new ForwardedStanza(stanza, host, number, resent)),
        Gen.Select(Host, Ack, (host, ack) => (object)new ForwardsAcknowledged(Jid.Parse(Room), host, ack)),
        Gen.Select(UserJid, Host, (occupant, host) => (object)new EnterRefused(Jid.Parse(Room), occupant, host)),
        Gen.Select(Host, Text, LastSentSequence, Gen.Bool,
            (host, id, sequence, usersBeforeLink) => (object)new KeepalivePing(Jid.Parse(Room), host, id, sequence, sequence is not null && usersBeforeLink)),
        Gen.Select(Host, Text, LastSentSequence, (host, id, sequence) => (object)new KeepalivePong(Jid.Parse(Room), host, id, sequence)),
        Host.Select(host => (object)new RequestNetjoin(Jid.Parse(Room), host)),
        Gen.Select(Host, Gen.Bool, (host, behind) => (object)new ServerBehind(Jid.Parse(Room), host, behind)),
        Gen.Select(Host, OrNone(Text), UserJid.List[0, 4], (host, lastStanzaId, sessions) => (object)new DeliveryReceipt(Jid.Parse(Room), host, lastStanzaId, sessions)),
        Resync.Select(resync => (object)resync));

    [Fact]
    public void Every_protocol_message_comes_back_from_the_wire_as_it_was_sent() =>
        AnyMessage.Sample(message => Assert.Equal(Describe(message), Describe(OverTheWire(message))), iter: 1000);

    [Fact]
    public void The_wire_carries_the_message_s_xml_as_utf8_text_byte_for_byte() =>
        // docs/protocol describes the XML as text; the serializer writes it to bytes without the text in between.
        AnyMessage.Sample(message => Assert.Equal(
            System.Text.Encoding.UTF8.GetBytes(DmucCodec.ToXml(message).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces)),
            Serializer.ToBinary(message)), iter: 1000);

    [Fact]
    public void A_resync_in_parts_keeps_every_item_in_order_and_each_part_within_the_limit_unless_one_item_alone_is_over() =>
        Gen.Select(Item.List[0, 12], Gen.Int[200, 4000]).Sample((items, limit) =>
        {
            var parts = DmucCodec.InParts(items, "killrc.oulubox.irc", limit);
            Assert.Equal(items, parts.SelectMany(part => part));
            Assert.NotEmpty(parts);
            Assert.All(parts, part => Assert.True(part.Count == 1 || part.Sum(item => Bytes(item)) <= limit));
        }, iter: 300);

    [Fact]
    public void A_report_in_parts_keeps_every_stanza_in_order_with_its_number_and_joins_back_to_itself() =>
        Gen.Select(Resync, Gen.Int[100, 3000]).Sample((report, limit) =>
        {
            var whole = report with { More = false, Part = 1, FirstHeldNumber = report.FirstHeldNumber % 1_000_000 + 1 };
            var parts = whole.InParts(limit);
            Assert.Equal(Enumerable.Range(1, parts.Count), parts.Select(part => part.Part));
            Assert.Equal(parts.Select((_, index) => index < parts.Count - 1), parts.Select(part => part.More));
            Assert.All(parts.Skip(1), part => Assert.Empty(part.Roster));
            Assert.Equal(parts.Skip(1).Select(part => part.FirstHeldNumber), parts.SkipLast(1).Select(part => part.FirstHeldNumber + part.HeldStanzas.Count));
            Assert.Equal(Describe(whole), Describe(ResyncReplica.Joined(parts)));
            Assert.Equal(Describe(whole), Describe(ResyncReplica.Joined([.. parts.Select(OverTheWire).Cast<ResyncReplica>()])));
        }, iter: 300);

    private static int Bytes(ReplicaItem item) => System.Text.Encoding.UTF8.GetByteCount(
        DmucCodec.ItemToXml(item, "killrc.oulubox.irc").ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));

    [Fact]
    public void The_primary_s_ping_and_pong_carry_its_last_sent_batch_and_the_replica_s_carry_none()
    {
        var fromPrimary = DmucCodec.FromXml(XElement.Parse(
            $"<ping xmlns='{Ns.Dmuc}' room='{Room}' replica='killrc.oulubox.irc' id='ping-17' seq='41'/>"));
        var fromReplica = DmucCodec.FromXml(XElement.Parse(
            $"<pong xmlns='{Ns.Dmuc}' room='{Room}' replica='killrc.oulubox.irc' id='ping-17'/>"));

        Assert.Equal(new KeepalivePing(Jid.Parse(Room), "killrc.oulubox.irc", "ping-17", 41), fromPrimary);
        Assert.Equal(new KeepalivePong(Jid.Parse(Room), "killrc.oulubox.irc", "ping-17"), fromReplica);
        Assert.Equal("41", DmucCodec.ToXml(fromPrimary).Attribute("seq")?.Value);
        Assert.Null(DmucCodec.ToXml(fromReplica).Attribute("seq"));
    }

    /// <summary>
    /// A held stanza's resent mark rides on the replica's own delay, the last from its host: a user's stanza that carries a delay
    /// from that host marked resent itself is not taken as resent.
    /// </summary>
    [Fact]
    public void Only_the_replica_s_own_delay_says_a_held_stanza_was_resent()
    {
        const string host = "killrc.oulubox.irc";
        var forging = XElement.Parse($"<message xmlns='jabber:client' from='argl@{host}/laptop' to='{Room}' type='groupchat' id='x'><body>hi</body>" +
                                     $"<delay xmlns='urn:xmpp:delay' from='{host}' stamp='1990-10-13T23:58:00.000Z' xmlns:d='{Ns.Dmuc}' d:resent='true'/></message>");
        var served = DateTimeOffset.Parse("1990-10-13T23:58:37Z", CultureInfo.InvariantCulture);
        ResyncReplica Report(params HeldStanza[] held) => new(Jid.Parse(Room), host, "netjoin-1", 4, null, new Dictionary<Jid, string>(), [], held, 1);

        var read = (ResyncReplica)DmucCodec.FromXml(DmucCodec.ToXml(Report(new HeldStanza(forging, served), new HeldStanza(new XElement(forging), served, Resent: true))));

        Assert.Equal([false, true], read.HeldStanzas.Select(held => held.Resent));
        Assert.All(read.HeldStanzas, held => Assert.Equal(served, held.ServedAt));
    }

    [Fact]
    public void Every_message_type_the_serializer_is_bound_to_is_generated()
    {
        var generated = new HashSet<Type>();
        // CsCheck samples on several threads at once.
        AnyMessage.Sample(message => { lock (generated) generated.Add(message.GetType()); }, iter: 500);

        var assembly = typeof(ReplicaBatch).Assembly;
        var bound = assembly.GetTypes().Where(type => ReplicationHosting.ProtocolSerializerHocon.Contains(
            $"\"{type.FullName}, {assembly.GetName().Name}\" = dmuc-protocol", StringComparison.Ordinal));
        Assert.Equal(bound.OrderBy(type => type.Name), generated.OrderBy(type => type.Name));
    }

    private static Gen<string> StringOf(string characters, int minLength, int maxLength) =>
        Gen.Char[characters].Array[minLength, maxLength].Select(chars => new string(chars));

    private static Gen<T?> OrNone<T>(Gen<T> gen) where T : class =>
        Gen.Frequency((1, Gen.Const((T?)null)), (2, gen.Select(value => (T?)value)));

    private static object OverTheWire(object message) =>
        Serializer.FromBinary(Serializer.ToBinary(message), Serializer.Manifest(message));

    /// <summary>Every field of the message, stanzas as canonical XML: equal descriptions, equal messages (and a readable diff).</summary>
    private static string Describe(object message) => message switch
    {
        ReplicaBatch batch => DescribeBatch(batch),
        ForwardedStanza forwarded => $"forward {forwarded.ReplicaHost} {forwarded.Number}\n{Canonical(forwarded.Stanza)}",
        ResyncReplica resync => DescribeResync(resync),
        DeliveryReceipt receipt => $"delivered {receipt.Room} {receipt.ReplicaHost} {receipt.LastStanzaId ?? "-"} {Jids(receipt.Sessions)}",
        // The rest are records of strings and JIDs, whose own text shows every field.
        _ => message.ToString()!,
    };

    private static string DescribeBatch(ReplicaBatch batch)
    {
        var items = batch.Items.Select(item => string.Join("\n  ",
            Canonical(item.Stanza),
            "to: " + Jids(item.Recipients),
            "except: " + Jids(item.Except),
            "enter: " + (item.Enter is null ? "-" : $"{item.Enter.Occupant} {(item.Enter.History is null ? "-" : Canonical(item.Enter.History))}"),
            "leave: " + (item.Leave?.ToString() ?? "-"),
            "delay: " + (item.Delay?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) ?? "-"),
            "repeats: " + (item.Repeats is null ? "-" : "[" + string.Join(", ", item.Repeats) + "]")));
        return $"batch {batch.Room} {batch.ReplicaHost} {batch.Sequence} resync of {batch.ResyncOf ?? "-"} more {batch.More} {batch.Ack}\n" + string.Join("\n", items);
    }

    private static string DescribeResync(ResyncReplica resync) => string.Join("\n",
        [$"resync {resync.Room} {resync.ReplicaHost} {resync.NetjoinId} {resync.LastSequence} {resync.LastStanzaId ?? "-"} held from {resync.FirstHeldNumber} part {resync.Part} more {resync.More}",
         .. resync.LocalOccupants.Select(local => $"local {local.Key} = {local.Value}"),
         .. resync.Roster.Select(entry => entry.ToString()),
         .. resync.HeldStanzas.Select(held => $"{Canonical(held.Stanza)} served {held.ServedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}"),
         $"unacked {resync.Unacknowledged?.Session ?? "-"} from {resync.Unacknowledged?.First}",
         .. (resync.Unacknowledged?.Stanzas ?? []).Select(held => $"{Canonical(held.Stanza)} sent {held.ServedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}")]);

    private static string Jids(IReadOnlyList<Jid>? jids) => jids is null ? "-" : "[" + string.Join(", ", jids) + "]";

    /// <summary>The element without namespace declarations, which depend on where the element sat in a document.</summary>
    private static string Canonical(XElement element)
    {
        var copy = new XElement(element);
        foreach (var declaration in copy.DescendantsAndSelf().Attributes().Where(a => a.IsNamespaceDeclaration).ToList())
            declaration.Remove();
        return copy.ToString(SaveOptions.DisableFormatting);
    }
}
