namespace Dmuc.Actors.Telemetry;

/// <summary>The live slots of one gauge: actors add theirs when they start and remove it when they stop.</summary>
internal sealed class TrackedSlots<T> where T : class
{
    private readonly Lock _lock = new();
    private readonly HashSet<T> _slots = new(ReferenceEqualityComparer.Instance);

    public T Add(T slot)
    {
        lock (_lock) _slots.Add(slot);
        return slot;
    }

    public void Remove(T slot)
    {
        lock (_lock) _slots.Remove(slot);
    }

    public List<T> Snapshot()
    {
        lock (_lock) return [.._slots];
    }

    public int Count(Func<T, bool> predicate) => Snapshot().Count(predicate);

    public int Sum(Func<T, int> value) => Snapshot().Sum(value);
}
