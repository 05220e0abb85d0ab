using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>RFC 6120 §8.3 stanza error conditions with their customary error types.</summary>
public enum StanzaErrorCondition
{
    BadRequest, Conflict, FeatureNotImplemented, Forbidden, Gone, InternalServerError, ItemNotFound,
    JidMalformed, NotAcceptable, NotAllowed, NotAuthorized, PolicyViolation, RecipientUnavailable,
    Redirect, RegistrationRequired, RemoteServerNotFound, RemoteServerTimeout, ResourceConstraint,
    ServiceUnavailable, SubscriptionRequired, UndefinedCondition, UnexpectedRequest,
}

public static class StanzaError
{
    public static string ElementName(this StanzaErrorCondition condition) => condition switch
    {
        StanzaErrorCondition.BadRequest => "bad-request",
        StanzaErrorCondition.Conflict => "conflict",
        StanzaErrorCondition.FeatureNotImplemented => "feature-not-implemented",
        StanzaErrorCondition.Forbidden => "forbidden",
        StanzaErrorCondition.Gone => "gone",
        StanzaErrorCondition.InternalServerError => "internal-server-error",
        StanzaErrorCondition.ItemNotFound => "item-not-found",
        StanzaErrorCondition.JidMalformed => "jid-malformed",
        StanzaErrorCondition.NotAcceptable => "not-acceptable",
        StanzaErrorCondition.NotAllowed => "not-allowed",
        StanzaErrorCondition.NotAuthorized => "not-authorized",
        StanzaErrorCondition.PolicyViolation => "policy-violation",
        StanzaErrorCondition.RecipientUnavailable => "recipient-unavailable",
        StanzaErrorCondition.Redirect => "redirect",
        StanzaErrorCondition.RegistrationRequired => "registration-required",
        StanzaErrorCondition.RemoteServerNotFound => "remote-server-not-found",
        StanzaErrorCondition.RemoteServerTimeout => "remote-server-timeout",
        StanzaErrorCondition.ResourceConstraint => "resource-constraint",
        StanzaErrorCondition.ServiceUnavailable => "service-unavailable",
        StanzaErrorCondition.SubscriptionRequired => "subscription-required",
        StanzaErrorCondition.UndefinedCondition => "undefined-condition",
        StanzaErrorCondition.UnexpectedRequest => "unexpected-request",
        _ => throw new ArgumentOutOfRangeException(nameof(condition)),
    };

    /// <summary>The error type RFC 6120 §8.3.3 gives each condition.</summary>
    public static string DefaultType(this StanzaErrorCondition condition) => condition switch
    {
        StanzaErrorCondition.BadRequest or StanzaErrorCondition.FeatureNotImplemented
            or StanzaErrorCondition.JidMalformed or StanzaErrorCondition.NotAcceptable => "modify",
        StanzaErrorCondition.Conflict or StanzaErrorCondition.Forbidden or StanzaErrorCondition.NotAllowed
            or StanzaErrorCondition.NotAuthorized or StanzaErrorCondition.RegistrationRequired
            or StanzaErrorCondition.SubscriptionRequired or StanzaErrorCondition.PolicyViolation
            or StanzaErrorCondition.ItemNotFound or StanzaErrorCondition.Gone
            or StanzaErrorCondition.Redirect => "cancel",
        StanzaErrorCondition.InternalServerError or StanzaErrorCondition.ServiceUnavailable
            or StanzaErrorCondition.RemoteServerNotFound or StanzaErrorCondition.UndefinedCondition => "cancel",
        StanzaErrorCondition.RecipientUnavailable or StanzaErrorCondition.RemoteServerTimeout
            or StanzaErrorCondition.ResourceConstraint or StanzaErrorCondition.UnexpectedRequest => "wait",
        _ => "cancel",
    };

    /// <summary>The &lt;error/&gt; element for a condition.</summary>
    public static XElement Element(StanzaErrorCondition condition, string? text = null, string? type = null, string? by = null)
    {
        var error = new XElement(Ns.Client + "error",
            new XAttribute("type", type ?? condition.DefaultType()),
            new XElement(Ns.Stanzas + condition.ElementName()));
        if (by is not null) error.Add(new XAttribute("by", by));
        if (text is not null) error.Add(new XElement(Ns.Stanzas + "text", text));
        return error;
    }

    /// <summary>
    /// The error that tells the sender of a refused stanza which limit (policy-violation) or rule (bad-request) it
    /// broke; null when there is no one to tell: a refused error (RFC 6120 §8.3.1: never answer an error with an
    /// error) or no <c>from</c>.
    /// </summary>
    public static XElement? ReplyToRefused(RefusedStanza refused)
    {
        var stanza = refused.Stanza;
        if (stanza.Attribute("from") is null || (string?)stanza.Attribute("type") == "error") return null;
        var condition = refused.Refusal == StanzaRefusal.BadNamespaces ? StanzaErrorCondition.BadRequest : StanzaErrorCondition.PolicyViolation;
        return Reply(stanza, condition, refused.Reason, type: "modify");
    }

    /// <summary>
    /// The error reply to <paramref name="stanza"/>: same name and id, from and to swapped, type="error".
    /// The original payload is not echoed back (RFC 6120 §8.2 leaves that optional; it saves bandwidth).
    /// </summary>
    public static XElement Reply(XElement stanza, StanzaErrorCondition condition, string? text = null, string? type = null)
    {
        var reply = new XElement(stanza.Name, new XAttribute("type", "error"));
        var id = stanza.Attribute("id")?.Value;
        if (id is not null) reply.Add(new XAttribute("id", id));
        var from = stanza.Attribute("to")?.Value;
        if (from is not null) reply.Add(new XAttribute("from", from));
        var to = stanza.Attribute("from")?.Value;
        if (to is not null) reply.Add(new XAttribute("to", to));
        reply.Add(Element(condition, text, type, by: from is null ? null : Jid.TryParse(from, out var jid) ? jid.Bare.ToString() : null));
        return reply;
    }
}
