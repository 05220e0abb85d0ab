namespace Dmuc.LoadTest.Client;

/// <summary>
/// Latencies in microseconds, HdrHistogram-style: exact below 64 µs, then 32 buckets per power of two
/// (≤ 3 % error), so recording is an array increment and percentiles need no stored samples.
/// </summary>
/// <remarks>Not thread-safe: each client records into its own and the results are merged afterwards.</remarks>
public sealed class LatencyHistogram
{
    private const int ExactBelow = 64;
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int HighestBit = 40; // 2^40 µs is 12 days: nothing a bounded run can produce

    private readonly long[] _counts = new long[ExactBelow + (HighestBit - SubBucketBits) * SubBuckets];

    public long Count { get; private set; }
    public long MaxMicroseconds { get; private set; }

    public void Record(long microseconds)
    {
        var value = Math.Clamp(microseconds, 0, (1L << HighestBit) - 1);
        _counts[IndexOf(value)]++;
        Count++;
        if (value > MaxMicroseconds) MaxMicroseconds = value;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        Count += other.Count;
        MaxMicroseconds = Math.Max(MaxMicroseconds, other.MaxMicroseconds);
    }

    /// <summary>The upper edge of the bucket holding the given percentile (0–100), in microseconds.</summary>
    public long Percentile(double percentile)
    {
        if (Count == 0) return 0;
        var rank = (long)Math.Ceiling(percentile / 100 * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= Math.Max(rank, 1)) return Math.Min(UpperEdgeOf(i), MaxMicroseconds);
        }
        return MaxMicroseconds;
    }

    private static int IndexOf(long value)
    {
        if (value < ExactBelow) return (int)value;
        var highestBit = 63 - (int)long.LeadingZeroCount(value);
        var shift = highestBit - SubBucketBits;
        var subBucket = (int)(value >> shift) - SubBuckets;
        return ExactBelow + (shift - 1) * SubBuckets + subBucket;
    }

    private static long UpperEdgeOf(int index)
    {
        if (index < ExactBelow) return index;
        var shift = (index - ExactBelow) / SubBuckets + 1;
        var subBucket = (index - ExactBelow) % SubBuckets;
        return ((long)(SubBuckets + subBucket + 1) << shift) - 1;
    }
}
