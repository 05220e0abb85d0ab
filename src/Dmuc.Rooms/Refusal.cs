using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Why a requested change was not made, as the error to answer with.</summary>
public readonly record struct Refusal(StanzaErrorCondition Condition, string Type, string? Text = null)
{
    public static readonly Refusal NotAllowed = new(StanzaErrorCondition.NotAllowed, "cancel");

    internal void Send(StanzaContext ctx) => ctx.ReplyError(Condition, Type, Text);
}
