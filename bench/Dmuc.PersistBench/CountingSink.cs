using Dmuc.Actors.Component;
using Dmuc.Rooms;

namespace Dmuc.PersistBench;

/// <summary>Counts groupchat echoes and signals when the expected number has been sent.</summary>
internal sealed class CountingSink(long expectedEchoes) : IStanzaSink
{
    private readonly TaskCompletionSource _allEchoed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _echoes;

    public Task AllEchoed => _allEchoed.Task;

    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        var echoes = 0;
        foreach (var delivery in deliveries)
            if (delivery.Stanza.Name.LocalName == "message" && delivery.Stanza.Attribute("type")?.Value == "groupchat") echoes++;
        if (echoes > 0 && Interlocked.Add(ref _echoes, echoes) >= expectedEchoes) _allEchoed.TrySetResult();
    }
}
