using System.Security.Cryptography;
using System.Text;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dmuc.Host.Management;

/// <summary>
/// The operator's HTTP endpoint, a small Kestrel application of its own that the node's host starts and stops.
/// It is separate from the node's host so that a node without it carries no web server, and so that the node
/// keeps being built by <see cref="DmucNode.Build"/> as a plain generic host.
/// </summary>
public sealed partial class ManagementEndpoint(ManagementOptions options, ManagedNode node, IServiceProvider nodeServices,
    ILogger<ManagementEndpoint> logger) : IHostedService
{
    private WebApplication? _app;

    /// <summary>The address the endpoint listens on once started (the real port when the configured one was 0).</summary>
    public Uri? ListeningAt { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(options.ListenEndpoint()));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(nodeServices.GetRequiredService<ILoggerFactory>());
        var app = builder.Build();
        app.Use(RequireToken);
        HealthRoutes.Map(app, nodeServices);
        MetricsRoutes.Map(app, nodeServices);
        ClusterRoutes.Map(app, nodeServices);
        ActorRoutes.Map(app, nodeServices);
        var rooms = RoomRoutes.Map(app, nodeServices, node);
        StatusRoutes.Map(app, nodeServices, node, rooms);
        NetsplitRoutes.Map(app, nodeServices);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException taken) when (options.IsDefault)
        {
            LogDefaultTaken(logger, options.Url!, taken.GetBaseException().Message);
            await app.DisposeAsync();
            return;
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        ListeningAt = address is null ? null : new Uri(address);
        LogListening(logger, address ?? options.Url!, string.IsNullOrEmpty(options.Token) ? "none (loopback only)" : "bearer token");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is null) return;
        await _app.StopAsync(cancellationToken);
        await _app.DisposeAsync();
    }

    /// <summary>
    /// Liveness and readiness stay open: they tell nothing about rooms, and probes rarely carry tokens. So does the
    /// status page, which holds no data: its script asks <see cref="ManagementApi.Status"/> with the token.
    /// </summary>
    private async Task RequireToken(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path;
        if (string.IsNullOrEmpty(options.Token) || path == ManagementApi.Health || path == ManagementApi.Ready
            || path == ManagementApi.StatusPage || HasToken(context.Request))
        {
            await next();
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await context.Response.WriteAsJsonAsync(new ErrorResponse("missing or wrong bearer token"), ManagementApi.Json);
    }

    private bool HasToken(HttpRequest request)
    {
        const string scheme = "Bearer ";
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        // Constant time, so the token cannot be guessed a byte at a time from response times.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()),
            Encoding.UTF8.GetBytes(options.Token!));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "No management endpoint: the default {Address} is taken ({Reason}), by another node on this machine perhaps; set Dmuc:Management:Url (--management-url) to have one")]
    private static partial void LogDefaultTaken(ILogger logger, string address, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Management endpoint listening on {Address} (authentication: {Authentication})")]
    private static partial void LogListening(ILogger logger, string address, string authentication);
}

public static class ManagementEndpointHosting
{
    public static IServiceCollection AddManagementEndpoint(this IServiceCollection services, ManagementOptions options, ManagedNode node)
    {
        services.AddSingleton(sp => new ManagementEndpoint(options, node, sp, sp.GetRequiredService<ILogger<ManagementEndpoint>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ManagementEndpoint>());
        return services;
    }
}

/// <summary>Every answer of the endpoint, written with the JSON settings the CLI reads them with.</summary>
internal static class Answer
{
    public static IResult Ok<T>(T body) => Results.Json(body, ManagementApi.Json);
    public static IResult Accepted<T>(T body) => Results.Json(body, ManagementApi.Json, statusCode: StatusCodes.Status202Accepted);
    public static IResult NotFound(string error) => Refusal(error, StatusCodes.Status404NotFound);
    public static IResult BadRequest(string error) => Refusal(error, StatusCodes.Status400BadRequest);
    public static IResult Conflict(string error) => Refusal(error, StatusCodes.Status409Conflict);
    public static IResult NoAnswerInTime(string error) => Refusal(error, StatusCodes.Status504GatewayTimeout);

    private static IResult Refusal(string error, int status) => Results.Json(new ErrorResponse(error), ManagementApi.Json, statusCode: status);
}
