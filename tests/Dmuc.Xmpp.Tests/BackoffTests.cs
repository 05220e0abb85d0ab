using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Xmpp.Tests;

public class BackoffTests
{
    [Fact]
    public void Delays_double_from_half_a_second_with_jitter_up_to_thirty_seconds()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30), new Random(7));
        double[] ceilings = [0.5, 1, 2, 4, 8, 16, 30, 30, 30];
        foreach (var ceiling in ceilings)
        {
            var delay = backoff.Next().TotalSeconds;
            Assert.InRange(delay, ceiling / 2, ceiling);
        }
        for (var i = 0; i < 100; i++) Assert.InRange(backoff.Next().TotalSeconds, 15, 30);
    }

    [Fact]
    public void Reset_starts_over()
    {
        var backoff = new Backoff();
        for (var i = 0; i < 10; i++) backoff.Next();
        backoff.Reset();
        Assert.Equal(0, backoff.Attempts);
        Assert.InRange(backoff.Next().TotalSeconds, 0.25, 0.5);
    }
}
