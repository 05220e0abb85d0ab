using Dmuc.Host;
using Dmuc.Rooms;
using Microsoft.Extensions.Configuration;

namespace Dmuc.Cli.Tests;

public sealed class ArchiveRetentionOptionsTests
{
    [Fact]
    public void Without_settings_archives_keep_everything_and_the_keys_bind_to_the_rooms_retention()
    {
        Assert.Null(Bind([]).ArchiveRetention.ToRetention());
        var options = Bind(new() { ["Dmuc:ArchiveRetention:MaxAge"] = "30.00:00:00", ["Dmuc:ArchiveRetention:MaxMessages"] = "100000" });
        Assert.Equal(new ArchiveRetention(TimeSpan.FromDays(30), 100_000), options.ArchiveRetention.ToRetention());
        Assert.Equal(TimeSpan.FromMinutes(10), options.ArchiveRetention.CheckInterval);
        options.Validate();
    }

    [Theory]
    [InlineData("Dmuc:ArchiveRetention:MaxAge", "00:00:00")]
    [InlineData("Dmuc:ArchiveRetention:MaxMessages", "-1")]
    [InlineData("Dmuc:ArchiveRetention:CheckInterval", "-00:01:00")]
    public void A_retention_that_makes_no_sense_stops_the_node_naming_the_setting(string key, string value)
    {
        var refused = Assert.Throws<InvalidSettingException>(() => Bind(new() { [key] = value }).Validate());
        Assert.Contains("Dmuc:ArchiveRetention", refused.Message);
    }

    private static NodeOptions Bind(Dictionary<string, string?> settings)
    {
        settings["Dmuc:Domain"] = "conference.localhost";
        settings["Dmuc:Secret"] = "s";
        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(NodeOptions.Section).Get<NodeOptions>()!;
    }
}
