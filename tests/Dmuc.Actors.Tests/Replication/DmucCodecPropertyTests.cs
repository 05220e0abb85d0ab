using System.Globalization;
using System.Xml.Linq;
using CsCheck;
using Dmuc.Actors.Replication;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>Whatever the primary and replicas say to each other comes out of the wire as it went in.</summary>
public sealed class DmucCodecPropertyTests
{
    private const string Room = "wallops@channel.avalon.irc";
    // The serializer keeps no state and never touches its actor system.
    private static readonly DmucProtocolSerializer Serializer = new(null!);

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

    private static readonly Gen<ReplicaItem> Item =
        from stanza in Stanza
        from recipients in JidList
        from enter in OrNone(Gen.Select(UserJid, HistoryRequest, (jid, history) => new ReplicaEnter(jid, history)))
        from leave in OrNone(UserJid)
        from delay in AcceptedAt
        from except in OrNone(UserJid.List[1, 2])
        select new ReplicaItem(stanza, recipients, enter, leave, delay, except);

    private static readonly Gen<ReplicaBatch> Batch =
        from host in Host
        from sequence in Gen.Long[1, long.MaxValue]
        from items in Item.List[0, 6]
        select new ReplicaBatch(Jid.Parse(Room), host, sequence, items);

    [Fact]
    public void A_batch_comes_back_from_the_wire_as_it_was_sent() =>
        Batch.Sample(batch => Assert.Equal(Describe(batch), Describe(OverTheWire(batch))), iter: 500);

    [Fact]
    public void A_forwarded_stanza_and_a_refused_entry_come_back_as_they_were_sent()
    {
        Gen.Select(Stanza, Host).Sample((stanza, host) =>
        {
            var back = Assert.IsType<ForwardedStanza>(OverTheWire(new ForwardedStanza(stanza, host)));
            Assert.Equal(host, back.ReplicaHost);
            Assert.Equal(Canonical(stanza), Canonical(back.Stanza));
        }, iter: 200);
        Gen.Select(UserJid, Host).Sample((occupant, host) =>
            Assert.Equal(new EnterRefused(Jid.Parse(Room), occupant, host), OverTheWire(new EnterRefused(Jid.Parse(Room), occupant, host))), iter: 50);
    }

    private static Gen<string> StringOf(string characters, int minLength, int maxLength) =>
        Gen.Char[characters].Array[minLength, maxLength].Select(chars => new string(chars));

    private static Gen<T?> OrNone<T>(Gen<T> gen) where T : class =>
        Gen.Frequency((1, Gen.Const((T?)null)), (2, gen.Select(value => (T?)value)));

    private static object OverTheWire(object message) =>
        Serializer.FromBinary(Serializer.ToBinary(message), Serializer.Manifest(message));

    /// <summary>Every field of the batch, stanzas as canonical XML: equal descriptions, equal batches (and a readable diff).</summary>
    private static string Describe(object message)
    {
        var batch = Assert.IsType<ReplicaBatch>(message);
        var items = batch.Items.Select(item => string.Join("\n  ",
            Canonical(item.Stanza),
            "to: " + Jids(item.Recipients),
            "except: " + Jids(item.Except),
            "enter: " + (item.Enter is null ? "-" : $"{item.Enter.Occupant} {(item.Enter.History is null ? "-" : Canonical(item.Enter.History))}"),
            "leave: " + (item.Leave?.ToString() ?? "-"),
            "delay: " + (item.Delay?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) ?? "-")));
        return $"{batch.Room} {batch.ReplicaHost} {batch.Sequence}\n" + string.Join("\n", items);
    }

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
