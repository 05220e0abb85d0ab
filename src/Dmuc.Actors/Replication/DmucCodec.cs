using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The one mapping between the primary/replica messages and their XML in <c>urn:xmpp:tmp:dmuc:0</c>.
/// Stanzas keep the shape XEP-0282 gives them (addressed to <c>replica@HOST</c>, with a dmuc
/// <c>&lt;x/&gt;</c> carrying enter, leave and delay); a batch wraps the stanzas one command produced.
/// Our one addition to the XEP is <c>&lt;to jid='…'/&gt;</c> inside that <c>&lt;x/&gt;</c>, naming the
/// recipients when a stanza is not for every local occupant of the replica (self-presence, private messages,
/// errors, the roster sent to an entering user), <c>&lt;except jid='…'/&gt;</c> when it is for every local
/// occupant but a few (a presence broadcast whose subject gets its own self-presence), and
/// <c>&lt;no-delivery/&gt;</c> on a stanza that only carries an enter or leave, or a message only for the replica's history;
/// and <c>&lt;roster/&gt;</c>, presences the replica already has sent again by nick (<see cref="KeptPresences"/>).
/// </summary>
public static class DmucCodec
{
    private static readonly XNamespace Dmuc = Ns.Dmuc;
    private static readonly XName X = Dmuc + "x";

    /// <summary>The JID a replica is addressed as (XEP-0282 §3.1 uses replica@host).</summary>
    public static string ReplicaJid(string host) => "replica@" + host;

    public static XElement ToXml(object message) => message switch
    {
        ReplicaBatch batch => new XElement(Dmuc + "batch",
            new XAttribute("room", batch.Room.ToString()),
            new XAttribute("replica", batch.ReplicaHost),
            new XAttribute("seq", batch.Sequence.ToString(CultureInfo.InvariantCulture)),
            batch.ResyncOf is null ? null : new XAttribute("resync", batch.ResyncOf),
            batch.More ? new XAttribute("more", "true") : null,
            UsersBeforeLinkAttribute(batch.UsersBeforeLink),
            AckAttributes(batch.Ack),
            batch.Items.Select(item => ItemToXml(item, batch.ReplicaHost))),
        ForwardsAcknowledged ack => LinkElement("ack", ack.Room, ack.ReplicaHost, (object?)AckAttributes(ack.Ack)),
        KeepalivePing ping => LinkElement("ping", ping.Room, ping.ReplicaHost, new XAttribute("id", ping.Id), SequenceAttribute(ping.LastSentSequence),
            UsersBeforeLinkAttribute(ping.UsersBeforeLink)),
        KeepalivePong pong => LinkElement("pong", pong.Room, pong.ReplicaHost, new XAttribute("id", pong.Id), SequenceAttribute(pong.LastSentSequence)),
        RequestNetjoin request => LinkElement("netjoin", request.Room, request.ReplicaHost),
        ServerBehind behind => LinkElement("server-behind", behind.Room, behind.ReplicaHost, new XAttribute("behind", behind.Behind ? "true" : "false")),
        DeliveryReceipt receipt => LinkElement("delivered", receipt.Room, receipt.ReplicaHost,
            receipt.LastStanzaId is null ? null : new XAttribute("last-stanza-id", receipt.LastStanzaId),
            receipt.Sessions.Select(session => new XElement(Dmuc + "session", new XAttribute("jid", session.ToString())))),
        ResyncReplica resync => LinkElement("resync", resync.Room, resync.ReplicaHost,
            new XAttribute("id", resync.NetjoinId),
            resync.More ? new XAttribute("more", "true") : null,
            resync.Part == 1 ? null : new XAttribute("part", resync.Part.ToString(CultureInfo.InvariantCulture)),
            new XAttribute("seq", resync.LastSequence.ToString(CultureInfo.InvariantCulture)),
            resync.LastStanzaId is null ? null : new XAttribute("last-stanza-id", resync.LastStanzaId),
            resync.LocalOccupants.Select(local => new XElement(Dmuc + "local",
                new XAttribute("jid", local.Key.ToString()), new XAttribute("nick", local.Value))),
            resync.Roster.Select(entry => new XElement(Dmuc + "occupant",
                new XAttribute("nick", entry.Nick), new XAttribute("affiliation", entry.Affiliation.Wire()), new XAttribute("role", entry.Role.Wire()),
                entry.Show is null ? null : new XAttribute("show", entry.Show),
                entry.Status is null ? null : new XAttribute("status", entry.Status))),
            new XElement(Dmuc + "held", new XAttribute("first", resync.FirstHeldNumber.ToString(CultureInfo.InvariantCulture)),
                resync.HeldSession is null ? null : new XAttribute("session", resync.HeldSession),
                resync.HeldStanzas.Select(held => HeldToXml(held, resync.ReplicaHost))),
            resync.Unacknowledged is not { } unacked ? null : new XElement(Dmuc + "unacked",
                new XAttribute("session", unacked.Session), new XAttribute("first", unacked.First.ToString(CultureInfo.InvariantCulture)),
                unacked.Stanzas.Select(held => HeldToXml(held, resync.ReplicaHost)))),
        ForwardedStanza forwarded => new XElement(Dmuc + "forward",
            new XAttribute("replica", forwarded.ReplicaHost),
            forwarded.Number is not { } number ? null : new object[]
            {
                new XAttribute("session", number.Session), new XAttribute("n", number.Number.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("acked", number.Acknowledged.ToString(CultureInfo.InvariantCulture)),
            },
            forwarded.Resent ? new XAttribute("resent", "true") : null,
            new XElement(forwarded.Stanza)),
        EnterRefused refused => new XElement(Dmuc + "enter-refused",
            new XAttribute("room", refused.Room.ToString()),
            new XAttribute("jid", refused.Occupant.ToString()),
            new XAttribute("replica", refused.ReplicaHost)),
        _ => throw new ArgumentException($"{message.GetType().Name} is not a DMUC protocol message", nameof(message)),
    };

    public static object FromXml(XElement xml)
    {
        if (xml.Name.Namespace != Dmuc) throw new FormatException($"not a DMUC element: {xml.Name}");
        return xml.Name.LocalName switch
        {
            "batch" => BatchFromXml(xml),
            "forward" => new ForwardedStanza(
                new XElement(xml.Elements().SingleOrDefault() ?? throw new FormatException("forward without a stanza")),
                Required(xml, "replica"),
                xml.Attribute("session")?.Value is not { } session ? null
                    : new ForwardNumber(session, Number(xml, "n"), Number(xml, "acked")),
                (bool?)xml.Attribute("resent") == true),
            "ack" => new ForwardsAcknowledged(Jid.Parse(Required(xml, "room")), Required(xml, "replica"),
                AckFromXml(xml) ?? throw new FormatException("<ack/> without 'session'")),
            "enter-refused" => new EnterRefused(Jid.Parse(Required(xml, "room")), Jid.Parse(Required(xml, "jid")),
                Required(xml, "replica")),
            "ping" => new KeepalivePing(Jid.Parse(Required(xml, "room")), Required(xml, "replica"), Required(xml, "id"), OptionalSequence(xml),
                UsersBeforeLink(xml)),
            "pong" => new KeepalivePong(Jid.Parse(Required(xml, "room")), Required(xml, "replica"), Required(xml, "id"), OptionalSequence(xml)),
            "netjoin" => new RequestNetjoin(Jid.Parse(Required(xml, "room")), Required(xml, "replica")),
            "server-behind" => new ServerBehind(Jid.Parse(Required(xml, "room")), Required(xml, "replica"), Required(xml, "behind") is "true" or "1"),
            "delivered" => new DeliveryReceipt(Jid.Parse(Required(xml, "room")), Required(xml, "replica"), xml.Attribute("last-stanza-id")?.Value,
                xml.Elements(Dmuc + "session").Select(session => Jid.Parse(Required(session, "jid"))).ToList()),
            "resync" => ResyncFromXml(xml),
            var other => throw new FormatException($"unknown DMUC element <{other}/>"),
        };
    }

    /// <summary>The element of a message about one room's link to one replica host.</summary>
    private static XElement LinkElement(string name, Jid room, string replicaHost, params object?[] content) =>
        new(Dmuc + name, new XAttribute("room", room.ToString()), new XAttribute("replica", replicaHost), content);

    /// <summary>An acknowledgement, on a batch or on its own: <c>session='…' ack='17'</c>.</summary>
    private static object[]? AckAttributes(ForwardAck? ack) => ack is null ? null :
        [new XAttribute("session", ack.Session), new XAttribute("ack", ack.UpTo.ToString(CultureInfo.InvariantCulture))];

    private static ForwardAck? AckFromXml(XElement xml) =>
        xml.Attribute("session")?.Value is { } session ? new ForwardAck(session, Number(xml, "ack")) : null;

    private static long Number(XElement xml, string attribute) => long.Parse(Required(xml, attribute), CultureInfo.InvariantCulture);

    /// <summary>The primary's last sent batch on a ping or pong; the replica's carry none.</summary>
    private static XAttribute? SequenceAttribute(long? sequence) =>
        sequence is { } seq ? new XAttribute("seq", seq.ToString(CultureInfo.InvariantCulture)) : null;

    private static long? OptionalSequence(XElement xml) =>
        xml.Attribute("seq")?.Value is { } seq ? long.Parse(seq, CultureInfo.InvariantCulture) : null;

    /// <summary>The primary's word that the room has users of the host from before this link (netjoin.md §5); absent when not.</summary>
    private static XAttribute? UsersBeforeLinkAttribute(bool usersBeforeLink) => usersBeforeLink ? new XAttribute("users-before-link", "true") : null;

    private static bool UsersBeforeLink(XElement xml) => xml.Attribute("users-before-link")?.Value is "true" or "1";

    private static ResyncReplica ResyncFromXml(XElement xml) => new(
        Jid.Parse(Required(xml, "room")),
        Required(xml, "replica"),
        Required(xml, "id"),
        long.Parse(Required(xml, "seq"), CultureInfo.InvariantCulture),
        xml.Attribute("last-stanza-id")?.Value,
        xml.Elements(Dmuc + "local").ToDictionary(local => Jid.Parse(Required(local, "jid")), local => Required(local, "nick")),
        xml.Elements(Dmuc + "occupant").Select(occupant => new RosterEntry(Required(occupant, "nick"),
            MucNames.TryParseAffiliation(Required(occupant, "affiliation"), out var affiliation) ? affiliation
                : throw new FormatException("<occupant/> with an unknown affiliation"),
            MucNames.TryParseRole(Required(occupant, "role"), out var role) ? role : throw new FormatException("<occupant/> with an unknown role"),
            occupant.Attribute("show")?.Value, occupant.Attribute("status")?.Value)).ToList(),
        xml.Element(Dmuc + "held")?.Elements().Select(stanza => HeldFromXml(stanza, Required(xml, "replica"))).ToList() ?? [],
        long.Parse(xml.Element(Dmuc + "held")?.Attribute("first")?.Value ?? "1", CultureInfo.InvariantCulture),
        xml.Element(Dmuc + "unacked") is not { } unacked ? null : new UnacknowledgedForwards(Required(unacked, "session"),
            Number(unacked, "first"), unacked.Elements().Select(stanza => HeldFromXml(stanza, Required(xml, "replica"))).ToList()),
        xml.Attribute("more")?.Value is "true" or "1",
        xml.Attribute("part") is null ? 1 : (int)Number(xml, "part"),
        xml.Element(Dmuc + "held")?.Attribute("session")?.Value);

    /// <summary>
    /// A held stanza as its user sent it, with an XEP-0203 delay from the replica host saying when the replica
    /// served it: the replica is the entity that delayed it. The replica's word that its server handed the stanza again
    /// (<see cref="HeldStanza.Resent"/>) rides on that delay, <c>dmuc:resent='true'</c>, where no user can put it.
    /// </summary>
    private static XElement HeldToXml(HeldStanza held, string replicaHost)
    {
        var stanza = new XElement(held.Stanza);
        stanza.Add(new XElement(Ns.Delay + "delay", new XAttribute("from", replicaHost), new XAttribute("stamp", Stamp(held.ServedAt)),
            held.Resent ? new XAttribute(Resent, "true") : null));
        return stanza;
    }

    private static readonly XName Resent = Dmuc + "resent";

    /// <summary>The replica's own delay is the last one from its host (a user's stanza may carry others).</summary>
    private static HeldStanza HeldFromXml(XElement xml, string replicaHost)
    {
        var stanza = new XElement(xml);
        var delay = stanza.Elements(Ns.Delay + "delay").LastOrDefault(candidate => candidate.Attribute("from")?.Value == replicaHost)
                    ?? throw new FormatException("a held stanza without the replica's delay");
        delay.Remove();
        return new HeldStanza(stanza, ParseStamp(Required(delay, "stamp")), (bool?)delay.Attribute(Resent) == true);
    }

    private static string Stamp(DateTimeOffset stamp) => stamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseStamp(string stamp) =>
        DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>
    /// Splits a resync's items into parts whose XML (<see cref="ItemToXml"/>, UTF-8) stays within <paramref name="maxBytes"/>,
    /// in order; always at least one part. An item larger than that alone goes in a part of its own.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<ReplicaItem>> InParts(IReadOnlyList<ReplicaItem> items, string replicaHost, long maxBytes)
    {
        var parts = new List<IReadOnlyList<ReplicaItem>>();
        var part = new List<ReplicaItem>();
        long bytes = 0;
        foreach (var item in items)
        {
            var size = Encoding.UTF8.GetByteCount(ItemToXml(item, replicaHost).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));
            if (part.Count > 0 && bytes + size > maxBytes)
            {
                parts.Add(part);
                part = [];
                bytes = 0;
            }
            part.Add(item);
            bytes += size;
        }
        parts.Add(part);
        return parts;
    }

    /// <summary>A batch item as the XEP's stanza to the replica.</summary>
    public static XElement ItemToXml(ReplicaItem item, string replicaHost)
    {
        var stanza = new XElement(item.Stanza);
        stanza.SetAttributeValue("to", ReplicaJid(replicaHost));
        var x = new XElement(X);
        if (item.Enter is { } enter)
        {
            x.Add(new XElement(Dmuc + "enter", new XAttribute("jid", enter.Occupant.ToString())));
            if (enter.History is { } history) x.Add(new XElement(Dmuc + "history", history.Attributes()));
        }
        if (item.Leave is { } leave) x.Add(new XElement(Dmuc + "leave", new XAttribute("jid", leave.ToString())));
        if (item.Delay is { } stamp)
            x.Add(new XElement(Ns.Delay + "delay",
                new XAttribute("from", item.Stanza.Attribute("from")?.Value ?? ""),
                new XAttribute("stamp", Stamp(stamp))));
        if (item.Repeats is { } repeats)
        {
            // Delivered to nobody by a replica that does not know <roster/>: its entrant misses the roster, rather than getting the carrier.
            x.Add(new XElement(Dmuc + "no-delivery"), new XElement(Dmuc + "roster", Recipients(item.Recipients ?? []),
                repeats.Select(nick => new XElement(Dmuc + "occupant", new XAttribute("nick", nick)))));
        }
        else if (item.Recipients is { Count: 0 })
            x.Add(new XElement(Dmuc + "no-delivery"));
        else if (item.Recipients is { } recipients)
            x.Add(Recipients(recipients));
        if (item.Except is { } except)
            x.Add(except.Select(excluded => new XElement(Dmuc + "except", new XAttribute("jid", excluded.ToString()))));
        if (x.HasElements) stanza.Add(x);
        return stanza;
    }

    private static IEnumerable<XElement> Recipients(IEnumerable<Jid> recipients) =>
        recipients.Select(recipient => new XElement(Dmuc + "to", new XAttribute("jid", recipient.ToString())));

    /// <summary>The item a replica reads from the XEP's stanza; the dmuc &lt;x/&gt; and the <c>to</c> are removed.</summary>
    public static ReplicaItem ItemFromXml(XElement xml)
    {
        var stanza = new XElement(xml);
        stanza.Attribute("to")?.Remove();
        var x = stanza.Element(X);
        if (x is null) return new ReplicaItem(stanza, null);
        x.Remove();
        var enterJid = x.Element(Dmuc + "enter")?.Attribute("jid")?.Value;
        var history = x.Element(Dmuc + "history");
        var leave = x.Element(Dmuc + "leave")?.Attribute("jid")?.Value;
        var stamp = x.Element(Ns.Delay + "delay")?.Attribute("stamp")?.Value;
        var recipients = x.Elements(Dmuc + "to").Select(to => Jid.Parse(Required(to, "jid"))).ToList();
        var nobody = x.Element(Dmuc + "no-delivery") is not null;
        var except = x.Elements(Dmuc + "except").Select(excluded => Jid.Parse(Required(excluded, "jid"))).ToList();
        if (x.Element(Dmuc + "roster") is { } roster)
            return new ReplicaItem(stanza, roster.Elements(Dmuc + "to").Select(to => Jid.Parse(Required(to, "jid"))).ToList(),
                Repeats: roster.Elements(Dmuc + "occupant").Select(occupant => Required(occupant, "nick")).ToList());
        return new ReplicaItem(
            stanza,
            nobody ? [] : recipients.Count == 0 ? null : recipients,
            enterJid is null ? null : new ReplicaEnter(Jid.Parse(enterJid),
                history is null ? null : new XElement(Ns.Muc + "history", history.Attributes())),
            leave is null ? null : Jid.Parse(leave),
            stamp is null ? null : ParseStamp(stamp),
            except.Count == 0 ? null : except);
    }

    private static ReplicaBatch BatchFromXml(XElement xml) => new(
        Jid.Parse(Required(xml, "room")),
        Required(xml, "replica"),
        long.Parse(Required(xml, "seq"), CultureInfo.InvariantCulture),
        xml.Elements().Select(ItemFromXml).ToList(),
        xml.Attribute("resync")?.Value,
        AckFromXml(xml),
        xml.Attribute("more")?.Value is "true" or "1",
        UsersBeforeLink(xml));

    private static string Required(XElement element, string attribute) =>
        element.Attribute(attribute)?.Value ?? throw new FormatException($"<{element.Name.LocalName}/> without '{attribute}'");
}
