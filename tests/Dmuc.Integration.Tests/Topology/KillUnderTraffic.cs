namespace Dmuc.Integration.Tests.Topology;

/// <summary>The timeline of the topology tests that kill a node while chatters talk (<see cref="Chatter.RunAsync"/>).</summary>
public static class KillUnderTraffic
{
    /// <summary>When the node is killed, after the chatters started.</summary>
    public static readonly TimeSpan KillAt = TimeSpan.FromSeconds(8);

    /// <summary>When the chatters stop saying anything new.</summary>
    public static readonly TimeSpan StopSendingAt = TimeSpan.FromSeconds(40);

    /// <summary>The most a first delivery after the kill may take before the test gives up (the target is 10 s; this is no benchmark).</summary>
    public static readonly TimeSpan FirstDeliveryWithin = TimeSpan.FromSeconds(60);

    /// <summary>How long every message may take to get its outcome once the chatters stopped.</summary>
    public static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(90);
}
