namespace Dmuc.Rooms;

/// <summary>At most <see cref="Burst"/> at once, and <see cref="PerSecond"/> on average over time.</summary>
public sealed record RateLimit(double PerSecond, int Burst)
{
    public static RateLimit PerMinute(double count, int burst) => new(count / 60, burst);
}

/// <summary>
/// What is left of a <see cref="RateLimit"/> (a token bucket): <see cref="Tokens"/> as of <see cref="At"/>. Immutable,
/// and the time is always given, so that the rules using it stay pure and replay the same.
/// </summary>
public readonly record struct TokenBucket(double Tokens, DateTimeOffset At)
{
    public static TokenBucket Full(RateLimit limit, DateTimeOffset now) => new(limit.Burst, now);

    /// <summary>Whether one more is allowed at <paramref name="now"/>.</summary>
    public bool HasToken(RateLimit limit, DateTimeOffset now) => RefilledAt(limit, now).Tokens >= 1;

    /// <summary>The bucket after one is taken at <paramref name="now"/>.</summary>
    public TokenBucket Take(RateLimit limit, DateTimeOffset now)
    {
        var refilled = RefilledAt(limit, now);
        return refilled with { Tokens = refilled.Tokens - 1 };
    }

    /// <summary>The bucket with one given back, for something taken that did not happen after all.</summary>
    public TokenBucket GiveBack(RateLimit limit) => this with { Tokens = Math.Min(limit.Burst, Tokens + 1) };

    /// <summary>A clock that went back refills nothing.</summary>
    private TokenBucket RefilledAt(RateLimit limit, DateTimeOffset now) =>
        now <= At ? this : new(Math.Min(limit.Burst, Tokens + (now - At).TotalSeconds * limit.PerSecond), now);
}
