using Akka.Actor;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>Polls a condition that the actors make true in their own time.</summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan timeout) =>
        HoldsAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>Fails with <paramref name="what"/> in the message when the condition is still false after the timeout.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception error) when (error is AskTimeoutException or ActorNotFoundException)
            {
                // The actor is busy or not started yet: ask again.
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout.TotalSeconds} s for {what}");
            await Task.Delay(PollInterval);
        }
    }
}
