using System.Collections.Concurrent;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Rooms;

namespace Dmuc.PersistBench;

/// <summary>
/// Counts groupchat echoes and signals when the expected number has been sent; counts the errors sent; hands over the
/// answers to IQs the bench waits for.
/// </summary>
internal sealed class CountingSink(long expectedEchoes) : IStanzaSink
{
    private readonly TaskCompletionSource _allEchoed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<XElement>> _awaitedAnswers = new();
    private long _echoes;
    private long _errors;

    public Task AllEchoed => _allEchoed.Task;

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>The answer to the IQ with this id, once sent; ask before sending the IQ.</summary>
    public Task<XElement> AnswerTo(string iqId) =>
        _awaitedAnswers.GetOrAdd(iqId, _ => new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        var echoes = 0;
        foreach (var delivery in deliveries)
        {
            var stanza = delivery.Stanza;
            if (stanza.Name.LocalName == "message" && stanza.Attribute("type")?.Value == "groupchat") echoes++;
            if (stanza.Attribute("type")?.Value == "error") Interlocked.Increment(ref _errors);
            if (stanza.Name.LocalName == "iq" && stanza.Attribute("id")?.Value is { } id && _awaitedAnswers.TryRemove(id, out var answer))
                answer.TrySetResult(stanza);
        }
        if (echoes > 0 && Interlocked.Add(ref _echoes, echoes) >= expectedEchoes) _allEchoed.TrySetResult();
    }
}
