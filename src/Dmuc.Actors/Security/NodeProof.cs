using Akka.Actor;
using Akka.Serialization;
using Dmuc.Credentials;

namespace Dmuc.Actors.Security;

/// <summary>Asks the node this is sent to for proof of what its certificate lets it speak for.</summary>
public sealed record ProveNode(byte[] Challenge);

/// <summary>The node's certificate and its signature over the challenge and the node's own address.</summary>
public sealed record NodeProof(byte[] Certificate, byte[] Signature);

/// <summary>
/// A node started afresh at <paramref name="Address"/> (its actor system's <paramref name="Uid"/>), told to the seeds
/// it joins through: a member still listed at that address with another UID is its previous incarnation, dead since
/// the port is bound again, and is downed so that the new one can join (docs/protocol/netjoin.md §5). Signed like a
/// <see cref="NodeProof"/>, over <see cref="Statement"/>.
/// </summary>
public sealed record IncarnationStarted(string Address, long Uid, DateTimeOffset StartedAt, byte[] Certificate, byte[] Signature)
{
    /// <summary>The announcement of the incarnation <paramref name="uid"/> at <paramref name="address"/>, signed with <paramref name="credential"/>.</summary>
    public static IncarnationStarted Signed(NodeCredential credential, Address address, long uid, DateTimeOffset startedAt) =>
        new(address.ToString(), uid, startedAt, credential.Certificate.RawData, credential.Prove(Statement(uid, startedAt), address.ToString()));

    /// <summary>What the node signs: the new UID and the start time, so that an old announcement cannot down a later incarnation.</summary>
    public static byte[] Statement(long uid, DateTimeOffset startedAt) =>
        System.Text.Encoding.UTF8.GetBytes($"incarnation {uid} started {startedAt.ToUnixTimeMilliseconds()}");
}

/// <summary>
/// Carries <see cref="ProveNode"/>, <see cref="NodeProof"/> and <see cref="IncarnationStarted"/> as length-prefixed bytes: they hold nothing but
/// bytes, and a general-purpose serializer has no business deserializing what an unverified peer sent.
/// </summary>
public sealed class NodeProofSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private const int MaxPart = 64 * 1024;

    public override int Identifier => 4284;

    public override string Manifest(object o) => o switch
    {
        ProveNode => "prove",
        NodeProof => "proof",
        IncarnationStarted => "incarnation",
        _ => throw new ArgumentException($"not a node proof message: {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        ProveNode prove => Join(prove.Challenge),
        NodeProof proof => Join(proof.Certificate, proof.Signature),
        IncarnationStarted started => Join(System.Text.Encoding.UTF8.GetBytes(started.Address), BitConverter.GetBytes(started.Uid),
            BitConverter.GetBytes(started.StartedAt.ToUnixTimeMilliseconds()), started.Certificate, started.Signature),
        _ => throw new ArgumentException($"not a node proof message: {obj.GetType()}"),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var parts = Split(bytes);
        return (manifest, parts.Count) switch
        {
            ("prove", 1) => new ProveNode(parts[0]),
            ("proof", 2) => new NodeProof(parts[0], parts[1]),
            ("incarnation", 5) when parts[1].Length == sizeof(long) && parts[2].Length == sizeof(long) =>
                new IncarnationStarted(System.Text.Encoding.UTF8.GetString(parts[0]), BitConverter.ToInt64(parts[1]),
                    DateTimeOffset.FromUnixTimeMilliseconds(BitConverter.ToInt64(parts[2])), parts[3], parts[4]),
            _ => throw new System.Runtime.Serialization.SerializationException($"a malformed node proof message ({manifest}, {parts.Count} parts)"),
        };
    }

    private static byte[] Join(params byte[][] parts)
    {
        var output = new MemoryStream();
        using var writer = new BinaryWriter(output);
        foreach (var part in parts)
        {
            writer.Write(part.Length);
            writer.Write(part);
        }
        writer.Flush();
        return output.ToArray();
    }

    private static List<byte[]> Split(byte[] bytes)
    {
        var parts = new List<byte[]>();
        using var reader = new BinaryReader(new MemoryStream(bytes));
        while (reader.BaseStream.Position < bytes.Length)
        {
            var length = reader.ReadInt32();
            if (length is < 0 or > MaxPart || length > bytes.Length - reader.BaseStream.Position)
                throw new System.Runtime.Serialization.SerializationException("a node proof part of impossible length");
            parts.Add(reader.ReadBytes(length));
        }
        return parts;
    }
}
