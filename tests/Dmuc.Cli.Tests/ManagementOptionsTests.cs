using Dmuc.Host.Management;

namespace Dmuc.Cli.Tests;

public sealed class ManagementOptionsTests
{
    [Fact]
    public void The_endpoint_is_off_without_a_url() => Assert.False(new ManagementOptions().IsEnabled);

    [Theory]
    [InlineData("http://0.0.0.0:9910")]
    [InlineData("http://10.1.2.3:9910")]
    public void Beyond_loopback_a_token_is_required(string url)
    {
        Assert.Throws<InvalidOperationException>(() => new ManagementOptions { Url = url }.Validate());
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
        Assert.Throws<InvalidOperationException>(() => new ManagementOptions { Url = url }.Validate());
}
