using Akka.Actor;
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
        var walker = new ActorTreeWalker(node.GetRequiredService<ActorSystem>());
        app.MapGet(ManagementApi.Actors, async (string? path, int? depth, CancellationToken cancellationToken) =>
        {
            var root = string.IsNullOrWhiteSpace(path) ? DefaultPath : path;
            if (depth is < 0 or > ActorTreeWalker.MaxDepth)
                return Answer.BadRequest($"depth must be between 0 and {ActorTreeWalker.MaxDepth}");
            var tree = await walker.WalkAsync(root, depth ?? DefaultDepth, cancellationToken);
            return tree is null ? Answer.NotFound($"no actor at {root}") : Answer.Ok(tree);
        });
    }
}
