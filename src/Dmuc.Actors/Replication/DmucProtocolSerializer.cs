using System.Runtime.Serialization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Serialization;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Carries the primary/replica messages between nodes as their XEP-0282 XML (<see cref="DmucCodec"/>), so
/// what crosses the wire is exactly what docs/protocol describes and what a packet capture shows.
/// </summary>
public sealed class DmucProtocolSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = false,
        IgnoreProcessingInstructions = false,
    };

    public override int Identifier => 4283;

    public override string Manifest(object o) => o switch
    {
        ReplicaBatch => "batch",
        ForwardedStanza => "forward",
        EnterRefused => "enter-refused",
        KeepalivePing => "ping",
        KeepalivePong => "pong",
        RequestNetjoin => "netjoin",
        ResyncReplica => "resync",
        _ => throw new ArgumentException($"{o.GetType()} is not a DMUC protocol message", nameof(o)),
    };

    public override byte[] ToBinary(object obj) =>
        Encoding.UTF8.GetBytes(DmucCodec.ToXml(obj).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));

    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes), ReaderSettings);
            return DmucCodec.FromXml(XElement.Load(reader));
        }
        catch (Exception error) when (error is XmlException or FormatException)
        {
            throw new SerializationException($"malformed DMUC '{manifest}' message: {error.Message}", error);
        }
    }
}
