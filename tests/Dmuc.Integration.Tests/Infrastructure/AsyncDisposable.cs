namespace Dmuc.Integration.Tests.Infrastructure;

/// <summary>Turns a stop function into an <see cref="IAsyncDisposable"/>; runs it at most once.</summary>
public sealed class AsyncDisposable(Func<ValueTask> dispose) : IAsyncDisposable
{
    private int _disposed;

    public static IAsyncDisposable Create(Func<ValueTask> dispose) => new AsyncDisposable(dispose);

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? dispose() : ValueTask.CompletedTask;
}
