using System.Buffers;
using System.Text;
using System.Xml.Linq;

namespace Dmuc.Xmpp;

/// <summary>
/// Renders stanzas to UTF-8 for a stream whose default namespace is the stanza namespace
/// (jabber:component:accept or jabber:client): elements in <see cref="Ns.Client"/> at the top are written
/// without xmlns and inherit the stream default, and a child declares xmlns only where its namespace differs
/// from its parent's. Elements in <see cref="Ns.Streams"/> use the stream: prefix bound by the stream header.
/// Comments and processing instructions are dropped: RFC 6120 §11.1 forbids them on a stream.
/// Characters XML cannot carry are replaced by U+FFFD so a bad string cannot break the stream.
/// </summary>
public static class StanzaWriter
{
    public static void Write(XElement stanza, IBufferWriter<byte> output)
    {
        var writer = new Utf8Output(output);
        WriteElement(ref writer, stanza, Ns.Client, omittedAttribute: null, out _);
        writer.Flush();
    }

    public static byte[] ToUtf8(XElement stanza)
    {
        var buffer = new ByteBuffer();
        Write(stanza, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An attribute value escaped for double quotes; values rarely need it, so the common case allocates nothing.</summary>
    internal static string EscapeAttribute(string value)
    {
        if (value.AsSpan().IndexOfAny(XmlChars.AttributeSpecials) < 0) return value;
        var buffer = new ByteBuffer(value.Length * 2);
        var writer = new Utf8Output(buffer);
        writer.WriteEscaped(value, XmlChars.AttributeSpecials);
        writer.Flush();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes <paramref name="element"/> leaving out its top-level <paramref name="omittedAttribute"/>;
    /// <paramref name="nameEnd"/> is the output offset just after the start tag's name, where an attribute can be spliced in.
    /// </summary>
    internal static void WriteElement(ref Utf8Output writer, XElement element, XNamespace inheritedDefault,
        XName? omittedAttribute, out long nameEnd)
    {
        var name = element.Name;
        var usesStreamPrefix = name.Namespace == Ns.Streams;
        writer.Write((byte)'<');
        WriteQualifiedName(ref writer, name, usesStreamPrefix);
        nameEnd = writer.BytesWritten;

        var defaultNamespace = inheritedDefault;
        if (!usesStreamPrefix && name.Namespace != inheritedDefault)
        {
            defaultNamespace = name.Namespace;
            writer.Write(" xmlns=\""u8);
            writer.WriteEscaped(defaultNamespace.NamespaceName, XmlChars.AttributeSpecials);
            writer.Write((byte)'"');
        }
        WriteAttributes(ref writer, element, omittedAttribute);

        if (element.FirstNode is null)
        {
            writer.Write("/>"u8);
            return;
        }
        writer.Write((byte)'>');
        for (var node = element.FirstNode; node is not null; node = node.NextNode)
        {
            switch (node)
            {
                case XElement child:
                    WriteElement(ref writer, child, defaultNamespace, omittedAttribute: null, out _);
                    break;
                case XText text:
                    writer.WriteEscaped(text.Value, XmlChars.TextSpecials);
                    break;
            }
        }
        writer.Write("</"u8);
        WriteQualifiedName(ref writer, name, usesStreamPrefix);
        writer.Write((byte)'>');
    }

    private static void WriteQualifiedName(ref Utf8Output writer, XName name, bool usesStreamPrefix)
    {
        if (usesStreamPrefix) writer.Write("stream:"u8);
        writer.Write(name.LocalName);
    }

    private static void WriteAttributes(ref Utf8Output writer, XElement element, XName? omittedAttribute)
    {
        // Namespaced attributes are rare in XMPP; each gets its own generated prefix declared right beside it.
        var generatedPrefixes = 0;
        for (var attribute = element.FirstAttribute; attribute is not null; attribute = attribute.NextAttribute)
        {
            // Declarations read in by XElement.Parse are redundant: this writer declares what it uses.
            if (attribute.IsNamespaceDeclaration || attribute.Name == omittedAttribute) continue;
            var ns = attribute.Name.Namespace;
            writer.Write((byte)' ');
            if (ns == XNamespace.Xml)
            {
                writer.Write("xml:"u8);
            }
            else if (ns != XNamespace.None)
            {
                var prefix = generatedPrefixes++;
                writer.Write("xmlns:a"u8);
                writer.Write(prefix);
                writer.Write("=\""u8);
                writer.WriteEscaped(ns.NamespaceName, XmlChars.AttributeSpecials);
                writer.Write("\" a"u8);
                writer.Write(prefix);
                writer.Write((byte)':');
            }
            writer.Write(attribute.Name.LocalName);
            writer.Write("=\""u8);
            writer.WriteEscaped(attribute.Value, XmlChars.AttributeSpecials);
            writer.Write((byte)'"');
        }
    }
}
