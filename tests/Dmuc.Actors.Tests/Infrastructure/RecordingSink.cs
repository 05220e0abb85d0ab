using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>Keeps every delivery a room sends, in order, and lets a test wait for the one it expects.</summary>
public sealed class RecordingSink : IStanzaSink
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly List<Delivery> _deliveries = [];
    private readonly List<(Func<Delivery, bool> Matches, TaskCompletionSource<Delivery> Found)> _waiters = [];

    /// <summary>Runs on the sending room's thread before the batch is recorded, i.e. at the moment of sending.</summary>
    public Action<IReadOnlyList<Delivery>>? OnSend { get; set; }

    /// <summary>Which deliveries are kept for <see cref="All"/> (all unless set): a room of thousands would fill the memory.</summary>
    public Func<Delivery, bool>? Retains { get; set; }

    /// <summary>A dying node's: takes nothing and confirms nothing, as a process killed before it wrote what it was handed.</summary>
    public bool Dying { get; set; }

    public Task<bool> AllWritten() => Task.FromResult(!Dying);

    /// <summary>A node whose server is behind on its output (over its budget), as <see cref="Component.ComponentOutbox"/> reports it.</summary>
    public bool Behind { get; set; }

    public bool ServerBehind(long decidedNotSentBytes = 0) => Behind;

    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        if (Dying) return;
        OnSend?.Invoke(deliveries);
        lock (_lock)
        {
            _deliveries.AddRange(Retains is { } retains ? deliveries.Where(retains) : deliveries);
            if (_waiters.Count == 0) return;
            foreach (var delivery in deliveries)
            {
                foreach (var waiter in _waiters.Where(w => w.Matches(delivery)).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Found.TrySetResult(delivery);
                }
            }
        }
    }

    public IReadOnlyList<Delivery> All
    {
        get
        {
            lock (_lock) return _deliveries.ToList();
        }
    }

    public List<XElement> To(string jid)
    {
        var recipient = Jid.Parse(jid);
        return All.Where(d => d.To == recipient).Select(d => d.Stanza).ToList();
    }

    /// <summary>The first delivery, past or future, that matches; fails the test after the timeout.</summary>
    public async Task<XElement> WaitForAsync(string to, Func<XElement, bool> matches, TimeSpan? timeout = null)
    {
        var recipient = Jid.Parse(to);
        bool Matches(Delivery delivery) => delivery.To == recipient && matches(delivery.Stanza);
        var found = new TaskCompletionSource<Delivery>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_deliveries.FirstOrDefault(Matches) is { } earlier) return earlier.Stanza;
            _waiters.Add((Matches, found));
        }
        try
        {
            return (await found.Task.WaitAsync(timeout ?? DefaultTimeout)).Stanza;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching stanza to {to} within {(timeout ?? DefaultTimeout).TotalSeconds} s; " +
                $"it received:\n{string.Join("\n", To(to))}");
        }
    }

    public void Clear()
    {
        lock (_lock) _deliveries.Clear();
    }
}
