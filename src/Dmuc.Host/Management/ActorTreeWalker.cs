using Akka.Actor;
using Dmuc.Management.Contracts;

namespace Dmuc.Host.Management;

/// <summary>
/// Walks the actor hierarchy the way a remote operator could: <c>ActorSelection(path + "/*")</c> and
/// <c>Identify</c>, level by level. A selection gives no end-of-answers signal, so each level is over once its
/// children have been quiet for <see cref="QuietPeriod"/>; the whole walk is bounded in time and size, so that a
/// node with many rooms answers with a truncated tree rather than not at all.
/// </summary>
public sealed class ActorTreeWalker(ActorSystem system)
{
    public const int MaxDepth = 10;
    private const int MaxActors = 5_000;
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan WalkTimeLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan IdentifyTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The tree under <paramref name="path"/>, <paramref name="depth"/> levels deep; null when nothing lives there.</summary>
    public async Task<ActorTreeView?> WalkAsync(string path, int depth, CancellationToken cancellationToken)
    {
        var root = await IdentifyAsync(path, cancellationToken);
        if (root is null) return null;
        var deadline = DateTime.UtcNow + WalkTimeLimit;
        var budget = new WalkBudget(MaxActors, deadline);
        var tree = await DescribeAsync(root, Math.Clamp(depth, 0, MaxDepth), budget, cancellationToken);
        return new ActorTreeView(tree, budget.Exhausted);
    }

    private async Task<IActorRef?> IdentifyAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var identity = await system.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), IdentifyTimeout, cancellationToken);
            return identity.Subject;
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    private async Task<ActorTreeNode> DescribeAsync(IActorRef actor, int depth, WalkBudget budget, CancellationToken cancellationToken)
    {
        var path = actor.Path.ToStringWithoutAddress();
        if (depth == 0 || !budget.Spend()) return new ActorTreeNode(path, actor.Path.Name, []);
        var children = await ChildrenOfAsync(actor.Path, cancellationToken);
        var described = await Task.WhenAll(children
            .OrderBy(child => child.Path.Name, StringComparer.Ordinal)
            .Select(child => DescribeAsync(child, depth - 1, budget, cancellationToken)));
        return new ActorTreeNode(path, actor.Path.Name, described);
    }

    private Task<IReadOnlyList<IActorRef>> ChildrenOfAsync(ActorPath parent, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<IReadOnlyList<IActorRef>>(TaskCreationOptions.RunContinuationsAsynchronously);
        cancellationToken.Register(() => found.TrySetCanceled(cancellationToken));
        var children = system.ActorSelection(parent + "/*");
        // Under /system, so that the walk's own helpers do not show up in the /user tree it reports.
        ((ExtendedActorSystem)system).SystemActorOf(Props.Create(() => new ChildCollector(children, found, QuietPeriod)));
        return found.Task;
    }

    /// <summary>Collects the answers of every actor a wildcard selection reaches until they stop coming.</summary>
    private sealed class ChildCollector : ReceiveActor
    {
        public ChildCollector(ActorSelection children, TaskCompletionSource<IReadOnlyList<IActorRef>> found, TimeSpan quietPeriod)
        {
            var answered = new List<IActorRef>();
            Receive<ActorIdentity>(identity =>
            {
                if (identity.Subject is { } child) answered.Add(child);
            });
            Receive<ReceiveTimeout>(_ =>
            {
                found.TrySetResult(answered);
                Context.Stop(Self);
            });
            Context.SetReceiveTimeout(quietPeriod);
            children.Tell(new Identify(null), Self);
        }
    }

    /// <summary>Shared by the branches of one walk, which run in parallel.</summary>
    private sealed class WalkBudget(int actors, DateTime deadline)
    {
        private int _left = actors;

        public bool Exhausted { get; private set; }

        public bool Spend()
        {
            if (Interlocked.Decrement(ref _left) >= 0 && DateTime.UtcNow < deadline) return true;
            Exhausted = true;
            return false;
        }
    }
}
