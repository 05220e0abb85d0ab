using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Dmuc.Host;

var restarts = ActorSystemRestarts.FromEarlierImage(Environment.GetEnvironmentVariable(ActorSystemRestarts.EnvironmentVariable));
while (true)
{
    IHost node;
    try
    {
        node = DmucNode.Build(args);
    }
    catch (Exception error) when (InvalidNodeSetting.IsSettingError(error))
    {
        await Console.Error.WriteLineAsync(InvalidNodeSetting.Describe(error));
        return InvalidNodeSetting.ExitCode;
    }
    // RunAsync disposes the host: what tells why it stopped is taken first.
    var system = node.Services.GetRequiredService<ActorSystem>();
    var log = node.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ActorSystemRestarts));
    await node.RunAsync();
    var reason = CoordinatedShutdown.Get(system).ShutdownReason;
    if (!restarts.ShouldRestart(reason, DateTimeOffset.UtcNow)) return reason?.ExitCode ?? 0;
    log.LogWarning("The actor system shut down ({Reason}); starting it again in a fresh image of this process", reason);
    ProcessImage.StartAgain(ActorSystemRestarts.EnvironmentVariable, restarts.Recent);
    log.LogWarning("The process could not start afresh; starting the actor system again in it");
}
