using System.Net;
using Dmuc.Host;
using Dmuc.Host.Management;

namespace Dmuc.Cli.Tests;

public sealed class ManagementOptionsTests
{
    [Fact]
    public void By_default_the_endpoint_listens_on_loopback_at_the_port_the_cli_tries_first()
    {
        var options = new ManagementOptions();
        Assert.True(options.IsEnabled && options.IsDefault);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5380), options.ListenEndpoint());
        options.Validate();
    }

    [Fact]
    public void An_empty_url_turns_the_endpoint_off() => Assert.False(new ManagementOptions { Url = "" }.IsEnabled);

    [Theory]
    [InlineData("http://0.0.0.0:9910")]
    [InlineData("http://10.1.2.3:9910")]
    public void Beyond_loopback_a_token_is_required(string url)
    {
        Assert.Throws<InvalidSettingException>(() => new ManagementOptions { Url = url }.Validate());
        new ManagementOptions { Url = url, Token = "t" }.Validate();
    }

    [Theory]
    [InlineData("http://127.0.0.1:9910")]
    [InlineData("http://localhost:0")]
    [InlineData("http://[::1]:9910")]
    public void On_loopback_no_token_is_needed(string url) => new ManagementOptions { Url = url }.Validate();

    [Theory]
    [InlineData("https://127.0.0.1:9910")]
    [InlineData("http://example.org:9910")]
    [InlineData("127.0.0.1:9910")]
    public void Only_plain_http_on_an_address_is_accepted(string url) =>
        Assert.Throws<InvalidSettingException>(() => new ManagementOptions { Url = url }.Validate());
}
