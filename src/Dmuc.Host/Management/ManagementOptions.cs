using System.Net;
using Dmuc.Management.Contracts;

namespace Dmuc.Host.Management;

/// <summary>The management endpoint's settings, bound from "Dmuc:Management".</summary>
public sealed class ManagementOptions
{
    /// <summary>
    /// http://ADDRESS:PORT to listen on; empty leaves the endpoint off. Port 0 picks a free port (logged at start).
    /// The default, loopback only, may be taken by another node on the same machine: then this node runs without
    /// the endpoint and says so, where a URL given on purpose that cannot be bound stops the node.
    /// </summary>
    public string? Url { get; set; } = ManagementDefaults.Url;

    public bool IsDefault => Url == ManagementDefaults.Url;

    /// <summary>Bearer token every /api request must carry. Required unless the endpoint listens on loopback only.</summary>
    public string? Token { get; set; }

    public bool IsEnabled => !string.IsNullOrWhiteSpace(Url);

    public IPEndPoint ListenEndpoint()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp || url.AbsolutePath != "/")
            throw new InvalidSettingException($"Dmuc:Management:Url must be http://ADDRESS:PORT, got '{Url}'");
        // TLS is a reverse proxy's job: the endpoint is meant for loopback or a private network.
        var address = url.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(url.Host.Trim('[', ']'), out var parsed) ? parsed
            : throw new InvalidSettingException($"Dmuc:Management:Url needs an IP address or localhost, got '{url.Host}'");
        return new IPEndPoint(address, url.Port);
    }

    public void Validate()
    {
        if (!IsEnabled) return;
        var endpoint = ListenEndpoint();
        if (!IPAddress.IsLoopback(endpoint.Address) && string.IsNullOrEmpty(Token))
            throw new InvalidSettingException(
                $"Dmuc:Management:Token (--management-token) is required when the management endpoint listens beyond loopback ({Url})");
    }
}
