using Akka.Actor;
using Akka.Cluster;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary><c>GET /api/actors?path=/user&amp;depth=N</c>: the actor hierarchy under a path.</summary>
internal static class ActorRoutes
{
    public const string DefaultPath = "/user";
    public const int DefaultDepth = 3;

    public static void Map(WebApplication app, IServiceProvider node)
    {
        var system = node.GetRequiredService<ActorSystem>();
        var walker = new ActorTreeWalker(system);
        var cluster = Cluster.Get(system);
        app.MapGet(ManagementApi.Actors, async (string? path, int? depth, CancellationToken cancellationToken) =>
        {
            var root = string.IsNullOrWhiteSpace(path) ? DefaultPath : path;
            if (depth is < 0 or > ActorTreeWalker.MaxDepth)
                return Answer.BadRequest($"depth must be between 0 and {ActorTreeWalker.MaxDepth}");
            if (OutsideTheCluster(cluster, root) is { } address)
                return Answer.BadRequest($"{address} is not a member of this cluster: only its members' actors can be walked");
            var tree = await walker.WalkAsync(root, depth ?? DefaultDepth, cancellationToken);
            return tree is null ? Answer.NotFound($"no actor at {root}") : Answer.Ok(tree);
        });
    }

    /// <summary>
    /// The address a path names when it is not a cluster member's. Selecting an actor there would make the node
    /// dial it: the endpoint would let its callers point the node at any host and port.
    /// </summary>
    private static Address? OutsideTheCluster(Cluster cluster, string path)
    {
        if (!ActorPath.TryParse(path, out var actorPath)) return null;
        var address = actorPath.Address;
        var isMember = address == cluster.SelfAddress || cluster.State.Members.Any(member => member.Address == address);
        return isMember ? null : address;
    }
}
