using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Replication;

public sealed class UnstoredMessagesTests
{
    private static readonly Jid Room = Jid.Parse("wallops@channel.avalon.irc");
    private readonly UnstoredMessages _unstored = new();

    [Fact]
    public void Withheld_messages_and_those_of_batches_after_what_the_replica_applied_are_counted_once()
    {
        _unstored.Sent(1, [Unstored("applied before the cut")]);
        _unstored.Sent(2, [Unstored("sent into the cut"), Unstored("also")]);
        _unstored.Withheld([Unstored("while split")]);

        var notice = _unstored.NoticeOfMissed(Room, replicaApplied: 1);

        Assert.Equal($"3 {UnstoredMessages.MissedText}", notice?.Stanza.Element(Ns.Client + "body")?.Value);
        Assert.Equal((Room.ToString(), "groupchat"), (notice?.Stanza.Attribute("from")?.Value, notice?.Stanza.Attribute("type")?.Value));
        Assert.Null(notice?.Recipients);
        Assert.Equal(notice?.Stanza.ToString(), _unstored.NoticeOfMissed(Room, replicaApplied: 1)?.Stanza.ToString());
        _unstored.Forget();
        Assert.Null(_unstored.NoticeOfMissed(Room, replicaApplied: 1));
    }

    [Fact]
    public void Kept_messages_chat_states_and_the_rooms_own_messages_are_not_counted()
    {
        _unstored.Withheld([
            Item($"<message from='{Room}/WiZ' type='groupchat'><body>kept</body></message>"),
            Item($"<message from='{Room}/WiZ' type='groupchat'><body>marked</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>"),
            Item($"<message from='{Room}/WiZ' type='groupchat'><composing xmlns='http://jabber.org/protocol/chatstates'/><no-store xmlns='urn:xmpp:hints'/></message>"),
            Item($"<message from='{Room}' type='groupchat'><body>from the room</body><no-store xmlns='urn:xmpp:hints'/></message>"),
            Item($"<presence from='{Room}/WiZ'><no-store xmlns='urn:xmpp:hints'/></presence>"),
        ]);

        Assert.Equal($"1 {UnstoredMessages.MissedText}", _unstored.NoticeOfMissed(Room, 0)?.Stanza.Element(Ns.Client + "body")?.Value);
    }

    private static ReplicaItem Unstored(string body) =>
        Item($"<message from='{Room}/WiZ' type='groupchat'><body>{body}</body><no-store xmlns='urn:xmpp:hints'/></message>");

    private static ReplicaItem Item(string xml) => new(Parse(xml), null);
}
