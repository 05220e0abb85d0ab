namespace Dmuc.Xmpp;

/// <summary>
/// Reconnect delays: exponential from <c>initial</c>, capped at <c>max</c>, with "equal jitter" (a delay lies
/// between half and all of the current ceiling) so many instances restarting together do not retry in lockstep.
/// </summary>
/// <remarks>
/// Reconnecting is owned by the actor that owns the <see cref="ComponentConnection"/>: a connection is
/// single-use, so when <see cref="ComponentConnection.RunAsync"/> ends (or <see cref="ComponentConnection.ConnectAsync"/>
/// fails) the actor schedules a new connect after <see cref="Next"/>, and calls <see cref="Reset"/> once a
/// handshake succeeds. Not thread-safe; it lives inside that actor.
/// </remarks>
public sealed class Backoff(TimeSpan initial, TimeSpan max, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    /// <summary>0.5 s doubling up to 30 s.</summary>
    public Backoff() : this(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30))
    {
    }

    public int Attempts { get; private set; }

    public TimeSpan Next()
    {
        // Past 2^20 the ceiling is the cap for any sane initial delay; stopping there keeps the shift in range.
        var doublings = Math.Min(Attempts, 20);
        Attempts++;
        var ceiling = TimeSpan.FromTicks(Math.Min(max.Ticks, initial.Ticks << doublings));
        return ceiling / 2 + ceiling / 2 * _random.NextDouble();
    }

    public void Reset() => Attempts = 0;
}
