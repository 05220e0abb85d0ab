using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli;

/// <summary>A failed request, with the exit code that says what kind of failure it was.</summary>
/// <param name="NodeAnswered">The node answered (with a failure): the URL was right, whatever the exit code.</param>
public sealed class ManagementException(string message, int exitCode, bool nodeAnswered = false) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public bool NodeAnswered { get; } = nodeAnswered;
}

/// <summary>Talks to one node's management endpoint; every failure becomes a <see cref="ManagementException"/>.</summary>
public sealed class ManagementClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private readonly HttpClient _http;

    public ManagementClient(Uri node, string? token, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = node;
        _http.Timeout = RequestTimeout;
        if (!string.IsNullOrEmpty(token)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<T> GetAsync<T>(string route, CancellationToken cancellationToken) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Get, route), cancellationToken);

    public Task<T> PostAsync<T>(string route, object? body, CancellationToken cancellationToken) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Post, route)
        {
            Content = body is null ? null : JsonContent.Create(body, body.GetType(), options: ManagementApi.Json),
        }, cancellationToken);

    private async Task<T> SendAsync<T>(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException error)
        {
            throw new ManagementException($"cannot reach {_http.BaseAddress}: {error.Message}", ExitCodes.NodeUnreachable);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ManagementException($"{_http.BaseAddress} did not answer within {RequestTimeout.TotalSeconds} s", ExitCodes.NodeUnreachable);
        }
        using (response)
        {
            if (response.IsSuccessStatusCode)
                return await response.Content.ReadFromJsonAsync<T>(ManagementApi.Json, cancellationToken)
                    ?? throw new ManagementException($"{request.RequestUri} answered with no content", ExitCodes.Failed);
            var reason = await ErrorOf(response, cancellationToken);
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new ManagementException($"unauthorized: {reason} (check --token or DMUC_TOKEN)", ExitCodes.Unauthorized),
                HttpStatusCode.NotFound => new ManagementException(reason, ExitCodes.NotFound),
                // Another node it asked did not answer in time (a netsplit drill): unreachable, as for a heal.
                HttpStatusCode.GatewayTimeout => new ManagementException($"{(int)response.StatusCode} {response.ReasonPhrase}: {reason}", ExitCodes.NodeUnreachable, nodeAnswered: true),
                _ => new ManagementException($"{(int)response.StatusCode} {response.ReasonPhrase}: {reason}", ExitCodes.Failed),
            };
        }
    }

    /// <summary>The node's own words when it sent an <see cref="ErrorResponse"/>; a 404 from a route that does not exist has none.</summary>
    private static async Task<string> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = await response.Content.ReadFromJsonAsync<ErrorResponse>(ManagementApi.Json, cancellationToken);
            if (!string.IsNullOrEmpty(error?.Error)) return error.Error;
        }
        catch (Exception failure) when (failure is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not our JSON (a proxy's page, say): the status line below says enough.
        }
        return $"{response.RequestMessage?.RequestUri} answered {(int)response.StatusCode} {response.ReasonPhrase}";
    }

    public void Dispose() => _http.Dispose();
}
