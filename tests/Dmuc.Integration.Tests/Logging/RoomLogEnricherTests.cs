using Dmuc.Host;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;

namespace Dmuc.Integration.Tests.Logging;

public sealed class RoomLogEnricherTests
{
    [Theory]
    [InlineData("akka://dmuc/user/rooms/wallops%40channel.avalon.irc", "wallops@channel.avalon.irc", null)]
    [InlineData("akka://dmuc/user/rooms/wallops%40channel.avalon.irc/replica-eris.dclxvii.irc", "wallops@channel.avalon.irc", "eris.dclxvii.irc")]
    [InlineData("akka.tcp://dmuc@127.0.0.1:4053/user/replicas/wallops%40channel.avalon.irc", "wallops@channel.avalon.irc", null)]
    [InlineData("akka://dmuc/user/rooms/channel.avalon.irc/replica-eris.dclxvii.irc", null, null)]
    [InlineData("akka://dmuc/user/rooms", null, null)]
    [InlineData("akka://dmuc/system/cluster/core/daemon", null, null)]
    public void Reads_the_room_and_the_replica_host_from_a_room_actors_path(string path, string? room, string? replicaHost) =>
        Assert.Equal((room, replicaHost), RoomLogEnricher.FromActorPath(path));

    [Fact]
    public void Adds_them_to_an_event_that_has_an_actor_path_and_keeps_a_room_the_event_names_itself()
    {
        var linkEvent = Event(("ActorPath", "akka://dmuc/user/rooms/wallops%40channel.avalon.irc/replica-eris.dclxvii.irc"));
        var namedEvent = Event(("ActorPath", "akka://dmuc/user/rooms/wallops%40channel.avalon.irc"), ("Room", "other@channel.avalon.irc"));
        var enricher = new RoomLogEnricher();

        enricher.Enrich(linkEvent, new PropertyFactory());
        enricher.Enrich(namedEvent, new PropertyFactory());

        Assert.Equal("\"wallops@channel.avalon.irc\"", linkEvent.Properties["Room"].ToString());
        Assert.Equal("\"eris.dclxvii.irc\"", linkEvent.Properties["ReplicaHost"].ToString());
        Assert.Equal("\"other@channel.avalon.irc\"", namedEvent.Properties["Room"].ToString());
    }

    private static LogEvent Event(params (string Name, string Value)[] properties) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse("something"),
            properties.Select(p => new LogEventProperty(p.Name, new ScalarValue(p.Value))));

    private sealed class PropertyFactory : Serilog.Core.ILogEventPropertyFactory
    {
        public LogEventProperty CreateProperty(string name, object? value, bool destructureObjects = false) =>
            new(name, new ScalarValue(value));
    }
}
