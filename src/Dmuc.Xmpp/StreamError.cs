using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>RFC 6120 §4.9.3 stream error conditions.</summary>
public enum StreamErrorCondition
{
    BadFormat, BadNamespacePrefix, Conflict, ConnectionTimeout, HostGone, HostUnknown, ImproperAddressing,
    InternalServerError, InvalidFrom, InvalidNamespace, InvalidXml, NotAuthorized, NotWellFormed,
    PolicyViolation, RemoteConnectionFailed, Reset, ResourceConstraint, RestrictedXml, SeeOtherHost,
    SystemShutdown, UndefinedCondition, UnsupportedEncoding, UnsupportedFeature, UnsupportedStanzaType,
    UnsupportedVersion,
}

public static class StreamError
{
    private static readonly Dictionary<string, StreamErrorCondition> ConditionsByName =
        Enum.GetValues<StreamErrorCondition>().ToDictionary(c => c.ElementName(), StringComparer.Ordinal);

    public static string ElementName(this StreamErrorCondition condition) => condition switch
    {
        StreamErrorCondition.BadFormat => "bad-format",
        StreamErrorCondition.BadNamespacePrefix => "bad-namespace-prefix",
        StreamErrorCondition.Conflict => "conflict",
        StreamErrorCondition.ConnectionTimeout => "connection-timeout",
        StreamErrorCondition.HostGone => "host-gone",
        StreamErrorCondition.HostUnknown => "host-unknown",
        StreamErrorCondition.ImproperAddressing => "improper-addressing",
        StreamErrorCondition.InternalServerError => "internal-server-error",
        StreamErrorCondition.InvalidFrom => "invalid-from",
        StreamErrorCondition.InvalidNamespace => "invalid-namespace",
        StreamErrorCondition.InvalidXml => "invalid-xml",
        StreamErrorCondition.NotAuthorized => "not-authorized",
        StreamErrorCondition.NotWellFormed => "not-well-formed",
        StreamErrorCondition.PolicyViolation => "policy-violation",
        StreamErrorCondition.RemoteConnectionFailed => "remote-connection-failed",
        StreamErrorCondition.Reset => "reset",
        StreamErrorCondition.ResourceConstraint => "resource-constraint",
        StreamErrorCondition.RestrictedXml => "restricted-xml",
        StreamErrorCondition.SeeOtherHost => "see-other-host",
        StreamErrorCondition.SystemShutdown => "system-shutdown",
        StreamErrorCondition.UndefinedCondition => "undefined-condition",
        StreamErrorCondition.UnsupportedEncoding => "unsupported-encoding",
        StreamErrorCondition.UnsupportedFeature => "unsupported-feature",
        StreamErrorCondition.UnsupportedStanzaType => "unsupported-stanza-type",
        StreamErrorCondition.UnsupportedVersion => "unsupported-version",
        _ => throw new ArgumentOutOfRangeException(nameof(condition)),
    };

    /// <summary>
    /// Reads the condition and optional text of a received &lt;stream:error/&gt;. A condition this
    /// service does not know is reported as <see cref="StreamErrorCondition.UndefinedCondition"/>.
    /// </summary>
    public static (StreamErrorCondition Condition, string? Text) Read(XElement streamError)
    {
        var condition = StreamErrorCondition.UndefinedCondition;
        string? text = null;
        foreach (var child in streamError.Elements())
        {
            if (child.Name.Namespace != Ns.StreamErrors) continue;
            if (child.Name.LocalName == "text") text = child.Value;
            else if (ConditionsByName.TryGetValue(child.Name.LocalName, out var known)) condition = known;
        }
        return (condition, text);
    }

    /// <summary>The &lt;stream:error/&gt; element for a condition.</summary>
    public static XElement Element(StreamErrorCondition condition, string? text = null)
    {
        var error = new XElement(Ns.Streams + "error", new XElement(Ns.StreamErrors + condition.ElementName()));
        if (!string.IsNullOrEmpty(text)) error.Add(new XElement(Ns.StreamErrors + "text", text));
        return error;
    }
}

/// <summary>
/// A violation of the stream's rules detected locally (RFC 6120 §4.9.3); the connection answers it
/// with a &lt;stream:error/&gt; carrying <see cref="Condition"/> and closes.
/// </summary>
public class XmppStreamException(StreamErrorCondition condition, string text)
    : Exception($"{condition.ElementName()}: {text}")
{
    public StreamErrorCondition Condition { get; } = condition;
    public string Text { get; } = text;
}

/// <summary>The peer ended the stream with a &lt;stream:error/&gt;.</summary>
public sealed class StreamErrorReceivedException(StreamErrorCondition condition, string? text)
    : XmppStreamException(condition, text ?? "stream error received from the server");
