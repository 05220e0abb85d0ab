using Akka.Configuration;
using Dmuc.Actors.Replication;

namespace Dmuc.Actors.Tests.Replication;

public sealed class ReplicationSettingsTests
{
    [Fact]
    public void The_shipped_configuration_serves_local_chat_private_messages_and_kicks_during_a_split_but_no_entries_or_away_marking()
    {
        var settings = ReplicationSettings.From(ConfigurationFactory.ParseString(ReplicationHosting.SplitToleranceHocon));

        Assert.Equal(SplitServing.Default, settings.Split);
        Assert.Equal(new SplitServing(LocalChat: true, PrivateMessages: true, Kicks: true, MarkOthersAway: false, Entries: false), settings.Split);
    }

    [Fact]
    public void Each_split_service_is_read_from_its_own_key()
    {
        var settings = ReplicationSettings.From(ConfigurationFactory.ParseString("""
            dmuc.replication {
              split-local-chat = off
              split-private-messages = off
              split-kicks = off
              split-mark-others-away = on
              split-entries = on
            }
            """));

        Assert.Equal(new SplitServing(LocalChat: false, PrivateMessages: false, Kicks: false, MarkOthersAway: true, Entries: true), settings.Split);
        Assert.Equal(ReplicationSettings.Default.KeepaliveInterval, settings.KeepaliveInterval);
    }
}
