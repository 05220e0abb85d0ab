using Dmuc.Rooms;

namespace Dmuc.Host;

/// <summary>
/// What one user may do, bound from "Dmuc:Limits". An unset key keeps the service's default (in brackets); 0 turns
/// that limit off. Service admins are exempt from the room limits.
/// </summary>
public sealed class LimitOptions
{
    /// <summary>Rooms one user (bare JID) may have created that still exist [100].</summary>
    public int? RoomsPerUser { get; set; }

    /// <summary>Rooms one user may create per minute, on average [10].</summary>
    public double? RoomCreationsPerMinute { get; set; }

    /// <summary>Rooms one user may create at once, before the rate applies [10].</summary>
    public int? RoomCreationBurst { get; set; }

    /// <summary>Groupchat messages and presence changes one user may send to a room per second, on average [2].</summary>
    public double? OccupantStanzasPerSecond { get; set; }

    /// <summary>Groupchat messages and presence changes one user may send to a room at once [10].</summary>
    public int? OccupantStanzaBurst { get; set; }

    public void Validate()
    {
        if (RoomsPerUser < 0 || RoomCreationsPerMinute < 0 || RoomCreationBurst < 0 || OccupantStanzasPerSecond < 0 || OccupantStanzaBurst < 0)
            throw new InvalidSettingException("Dmuc:Limits: no limit may be negative (0 turns one off)");
    }

    public MucServiceOptions ApplyTo(MucServiceOptions service) => service with
    {
        RoomsPerCreator = RoomsPerUser switch { null => service.RoomsPerCreator, > 0 and var count => count, _ => null },
        RoomCreationRate = Rate(service.RoomCreationRate, RoomCreationsPerMinute / 60, RoomCreationBurst),
        OccupantStanzaRate = Rate(service.OccupantStanzaRate, OccupantStanzasPerSecond, OccupantStanzaBurst),
    };

    private static RateLimit? Rate(RateLimit? current, double? perSecond, int? burst)
    {
        var rate = new RateLimit(perSecond ?? current?.PerSecond ?? 0, burst ?? current?.Burst ?? 0);
        return rate.PerSecond > 0 && rate.Burst > 0 ? rate : null;
    }
}
