using System.Xml;
using System.Xml.Linq;

namespace Dmuc.Integration.Tests.Xmpp;

/// <summary>
/// Reads one XMPP stream: the stream header, then each top-level element as soon as its end tag has arrived.
/// Uses ReadSubtree + XElement.LoadAsync because XNode.ReadFromAsync peeks past the element and so hands a
/// stanza over only once the next one has arrived.
/// </summary>
internal sealed class XmppStreamReader : IDisposable
{
    private readonly XmlReader _reader;

    public XmppStreamReader(Stream stream)
    {
        _reader = XmlReader.Create(stream, new XmlReaderSettings
        {
            Async = true,
            CloseInput = false, // the stream outlives this reader: a stream restart makes a new one
            DtdProcessing = DtdProcessing.Prohibit,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
        });
    }

    /// <summary>Reads up to and including the &lt;stream:stream&gt; start tag; returns its id attribute.</summary>
    public async Task<string?> ReadStreamHeaderAsync()
    {
        while (await _reader.ReadAsync())
        {
            if (_reader.NodeType == XmlNodeType.Element)
            {
                if (_reader.LocalName != "stream" || _reader.NamespaceURI != XmppNamespaces.Streams.NamespaceName)
                {
                    throw new XmlException($"Expected <stream:stream>, got <{_reader.Name}>");
                }
                return _reader.GetAttribute("id");
            }
        }
        throw new EndOfStreamException("The server closed the connection before sending a stream header.");
    }

    /// <summary>The next top-level element (stanza, features, stream error…), or null once the stream has ended.</summary>
    public async Task<XElement?> ReadElementAsync(CancellationToken cancellationToken)
    {
        while (await _reader.ReadAsync())
        {
            switch (_reader.NodeType)
            {
                case XmlNodeType.Element when _reader.Depth == 1:
                    using (var subtree = _reader.ReadSubtree())
                    {
                        return await XElement.LoadAsync(subtree, LoadOptions.None, cancellationToken);
                    }
                case XmlNodeType.EndElement when _reader.Depth == 0:
                    return null; // </stream:stream>
            }
        }
        return null;
    }

    public void Dispose() => _reader.Dispose();
}
