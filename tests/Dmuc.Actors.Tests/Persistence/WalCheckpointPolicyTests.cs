using Dmuc.Actors.Persistence;

namespace Dmuc.Actors.Tests.Persistence;

public sealed class WalCheckpointPolicyTests
{
    private static readonly WalCheckpointPolicy Policy = new(TimeSpan.FromSeconds(1), TruncateAbove: 1000);

    [Fact]
    public void An_empty_log_is_left_alone() => Assert.Empty(Policy.ModesFor(0));

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    public void A_log_within_the_bound_is_copied_without_holding_the_writer(long walBytes) =>
        Assert.Equal([WalCheckpointMode.Passive], Policy.ModesFor(walBytes));

    [Fact]
    public void A_log_past_the_bound_is_copied_first_then_truncated() =>
        Assert.Equal([WalCheckpointMode.Passive, WalCheckpointMode.Truncate], Policy.ModesFor(1001));
}
