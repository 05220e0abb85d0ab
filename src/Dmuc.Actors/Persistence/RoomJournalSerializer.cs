using System.Runtime.Serialization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;

namespace Dmuc.Actors.Persistence;

/// <summary>
/// Writes room events and snapshots (and the room index's) to the journal as UTF-8 JSON: readable with any SQL client, which
/// operators appreciate when restoring a backup, and free of .NET type names, so types can be renamed.
/// </summary>
public sealed class RoomJournalSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private const string EventManifest = "room-event";
    private const string SnapshotManifest = "room-snapshot";
    private const string IndexEventManifest = "room-index-event";
    private const string IndexSnapshotManifest = "room-index-snapshot";

    /// <summary>
    /// Stanzas are most of what a room journals: the default encoder writes each &lt;, &gt;, &amp; and ' as a six-byte \u
    /// escape (for JSON embedded in HTML, which this never is), which made a message's row a third larger and its
    /// escaping a visible part of the node's CPU per message. JSON readers take either form: rows written before read the same.
    /// </summary>
    internal static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override int Identifier => 4282;

    public override string Manifest(object o) => o switch
    {
        RoomEvent => EventManifest,
        RoomSnapshot => SnapshotManifest,
        RoomIndexEvent => IndexEventManifest,
        RoomIndexSnapshot => IndexSnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a room journal type", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        RoomEvent @event => JsonSerializer.SerializeToUtf8Bytes(@event, Options),
        RoomSnapshot snapshot => JsonSerializer.SerializeToUtf8Bytes(snapshot, Options),
        RoomIndexEvent @event => JsonSerializer.SerializeToUtf8Bytes(@event, Options),
        RoomIndexSnapshot snapshot => JsonSerializer.SerializeToUtf8Bytes(snapshot, Options),
        _ => throw new ArgumentException($"{obj.GetType()} is not a room journal type", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        EventManifest => JsonSerializer.Deserialize<RoomEvent>(bytes, Options)
            ?? throw new SerializationException("an empty room event in the journal"),
        SnapshotManifest => JsonSerializer.Deserialize<RoomSnapshot>(bytes, Options)
            ?? throw new SerializationException("an empty room snapshot"),
        IndexEventManifest => JsonSerializer.Deserialize<RoomIndexEvent>(bytes, Options)
            ?? throw new SerializationException("an empty room index event in the journal"),
        IndexSnapshotManifest => JsonSerializer.Deserialize<RoomIndexSnapshot>(bytes, Options)
            ?? throw new SerializationException("an empty room index snapshot"),
        _ => throw new SerializationException($"unknown manifest '{manifest}'"),
    };
}
