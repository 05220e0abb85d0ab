using System.Net;

namespace Dmuc.Host.Management;

/// <summary>The management endpoint's settings, bound from "Dmuc:Management".</summary>
public sealed class ManagementOptions
{
    /// <summary>
    /// http://ADDRESS:PORT to listen on. Empty (the default) leaves the endpoint off: a fixed default port would
    /// clash when several nodes share a machine. Port 0 picks a free port (logged at start).
    /// </summary>
    public string? Url { get; set; }

    /// <summary>Bearer token every /api request must carry. Required unless the endpoint listens on loopback only.</summary>
    public string? Token { get; set; }

    public bool IsEnabled => !string.IsNullOrWhiteSpace(Url);

    public IPEndPoint ListenEndpoint()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp || url.AbsolutePath != "/")
            throw new InvalidOperationException($"Dmuc:Management:Url must be http://ADDRESS:PORT, got '{Url}'");
        // TLS is a reverse proxy's job: the endpoint is meant for loopback or a private network.
        var address = url.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(url.Host.Trim('[', ']'), out var parsed) ? parsed
            : throw new InvalidOperationException($"Dmuc:Management:Url needs an IP address or localhost, got '{url.Host}'");
        return new IPEndPoint(address, url.Port);
    }

    public void Validate()
    {
        if (!IsEnabled) return;
        var endpoint = ListenEndpoint();
        if (!IPAddress.IsLoopback(endpoint.Address) && string.IsNullOrEmpty(Token))
            throw new InvalidOperationException(
                $"Dmuc:Management:Token (--management-token) is required when the management endpoint listens beyond loopback ({Url})");
    }
}
