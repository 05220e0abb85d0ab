using System.Text;
using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>
/// A stanza as text that stands alone (its namespace declared on it, so <see cref="XElement.Parse(string)"/> gives it back):
/// how rooms keep messages and presence in their journal and history. <see cref="StanzaWriter"/>'s rendering, several
/// times cheaper than <see cref="XNode.ToString(SaveOptions)"/>, which builds an XmlWriter per call (a visible part of
/// a room's CPU per message).
/// </summary>
public static class StanzaText
{
    public static string Of(XElement stanza)
    {
        // The writer's stream: prefix is bound by the stream header only; text that stands alone needs it declared.
        if (stanza.DescendantsAndSelf().Any(element => element.Name.Namespace == Ns.Streams))
            return stanza.ToString(SaveOptions.DisableFormatting);
        // Not a buffer of its own: the writer asks for 4 KiB at a time, which for a message was most of what a room allocated per message.
        var buffer = ByteBuffer.Scratch();
        var writer = new Utf8Output(buffer);
        StanzaWriter.WriteElement(ref writer, stanza, XNamespace.None, omittedAttribute: null, out _);
        writer.Flush();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
