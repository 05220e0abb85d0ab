using Serilog.Core;
using Serilog.Events;

namespace Dmuc.Host;

/// <summary>
/// Gives the Room (and, for a primary's replica link, the ReplicaHost) to every log event of a room's actors, read
/// from the actor path Akka attaches to its events: /user/rooms/ROOM[/replica-HOST] and /user/replicas/ROOM, each
/// segment URI-escaped. Logs that name a room in their own template keep theirs.
/// </summary>
public sealed class RoomLogEnricher : ILogEventEnricher
{
    private static readonly string[] RoomParents = ["/user/rooms/", "/user/replicas/"];
    private const string LinkPrefix = "replica-";

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (!logEvent.Properties.TryGetValue("ActorPath", out var value) || value is not ScalarValue { Value: string path }) return;
        var (room, replicaHost) = FromActorPath(path);
        if (room is null) return;
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("Room", room));
        if (replicaHost is not null) logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("ReplicaHost", replicaHost));
    }

    public static (string? Room, string? ReplicaHost) FromActorPath(string path)
    {
        foreach (var parent in RoomParents)
        {
            var at = path.IndexOf(parent, StringComparison.Ordinal);
            if (at < 0) continue;
            var segments = path[(at + parent.Length)..].Split('/');
            var room = Uri.UnescapeDataString(segments[0]);
            // The service's own address is not a room.
            if (!room.Contains('@')) return (null, null);
            var link = segments.Length > 1 && segments[1].StartsWith(LinkPrefix, StringComparison.Ordinal)
                ? Uri.UnescapeDataString(segments[1][LinkPrefix.Length..])
                : null;
            return (room, link);
        }
        return (null, null);
    }
}
