using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>The room subject: shown last to entering sessions, changed by moderators (or anyone, if allowed).</summary>
internal static class Subject
{
    /// <summary>
    /// A groupchat message with a subject and neither body nor thread is a subject change; with a body or
    /// thread it is an ordinary message (XEP-0045 §8.1, Prosody issue #667).
    /// </summary>
    public static bool IsSubjectChange(XElement message) =>
        message.Element(Ns.Client + "subject") is not null
        && message.Element(Ns.Client + "body") is null
        && message.Element(Ns.Client + "thread") is null;

    public static void HandleSubjectChange(StanzaContext ctx, Occupant occupant)
    {
        var mayChange = occupant.Role >= Role.Moderator || (occupant.Role >= Role.Participant && ctx.Room.Config.ChangeSubject);
        if (!mayChange)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", "You are not allowed to change the subject");
            return;
        }
        ctx.Emit(new SubjectChanged(new RoomSubject(ctx.Stanza.Element(Ns.Client + "subject")!.Value, occupant.Nick, ctx.Now)));
        var message = SubjectMessage(ctx.Room);
        if (ctx.Stanza.Attribute("id") is { } id) message.SetAttributeValue("id", id.Value);
        ctx.Broadcast(message);
    }

    public static void SendTo(RoomContext ctx, Jid to) => ctx.Send(to, ForEntrant(ctx.Room));

    /// <summary>The subject as the last stanza of an entry: dated when it was set, if it ever was.</summary>
    public static XElement ForEntrant(RoomData room)
    {
        var message = SubjectMessage(room);
        if (room.Subject is { } subject) message.Add(Stanzas.Delay(room.RoomJid, subject.ChangedAt));
        return message;
    }

    /// <summary>The subject as a groupchat message from whoever set it (from the room while never set).</summary>
    private static XElement SubjectMessage(RoomData room) =>
        Stanzas.Message(room.Subject is { } subject ? room.OccupantJid(subject.Nick) : room.RoomJid.ToString(), "groupchat")
            .WithChild(new XElement(Ns.Client + "subject", string.IsNullOrEmpty(room.Subject?.Text) ? null : room.Subject.Text));
}
