using Dmuc.Credentials;
using Dmuc.Host;

namespace Dmuc.Cli.Tests;

/// <summary>
/// A node's credential decides what it may be: <c>dmuc certs</c> makes the files, and a node refuses to start as a
/// host or role its certificate does not name, or to join a cluster without one.
/// </summary>
public sealed class NodeCredentialOptionsTests : IDisposable
{
    private const string Muc = "channel.avalon.irc";
    private readonly string _folder = Directory.CreateTempSubdirectory("dmuc-certs-").FullName;

    [Fact]
    public async Task Dmuc_certs_makes_an_authority_and_node_certificates_that_carry_their_claims()
    {
        Assert.Equal(ExitCodes.Ok, (await CliRun.InvokeAsync("certs", "--dir", _folder, "authority")).ExitCode);
        var node = await CliRun.InvokeAsync("certs", "--dir", _folder, "node", "--name", "killrc", "--host", "KillRC.oulubox.irc", "--primary", Muc);

        Assert.Equal(ExitCodes.Ok, node.ExitCode);
        Assert.Contains("hosts: killrc.oulubox.irc; primary for: channel.avalon.irc", node.Output);
        var loaded = CredentialFiles.LoadNode(_folder, "killrc");
        Assert.True(loaded.Claims.ServesHost("killrc.oulubox.irc") && loaded.Claims.MayHoldPrimariesOf(Muc));
    }

    [Fact]
    public async Task Dmuc_certs_without_an_authority_fails_saying_so()
    {
        var node = await CliRun.InvokeAsync("certs", "--dir", _folder, "node", "--name", "killrc", "--host", "killrc.oulubox.irc");

        Assert.Equal(ExitCodes.Failed, node.ExitCode);
        Assert.StartsWith("dmuc certs:", node.Error);
    }

    [Theory]
    [InlineData("eris.dclxvii.irc", NodeRole.Replica, "Dmuc:HostDomain is eris.dclxvii.irc")]
    [InlineData("killrc.oulubox.irc", NodeRole.Primary, "Dmuc:Role is Primary for channel.avalon.irc")]
    public async Task A_node_refuses_to_start_as_what_its_certificate_does_not_name(string host, NodeRole role, string message)
    {
        await CliRun.InvokeAsync("certs", "--dir", _folder, "authority");
        await CliRun.InvokeAsync("certs", "--dir", _folder, "node", "--name", "killrc", "--host", "killrc.oulubox.irc");
        var options = Options(host, role);
        options.Tls = new ClusterCredentialOptions
        {
            Certificate = CredentialFiles.CertificatePath(_folder, "killrc"),
            Key = CredentialFiles.KeyPath(_folder, "killrc"),
            Authority = CredentialFiles.CertificatePath(_folder, CredentialFiles.AuthorityName),
        };

        Assert.StartsWith(message, Assert.Throws<CredentialException>(() => options.Tls.Load(options)).Message);
    }

    [Fact]
    public void A_node_with_seeds_and_no_credential_refuses_to_start()
    {
        var options = Options("killrc.oulubox.irc", NodeRole.Replica);
        options.Seeds = ["akka.ssl.tcp://dmuc@127.0.0.1:4053"];

        Assert.Contains("needs its credential", Assert.Throws<CredentialException>(() => options.Tls.Load(options)).Message);
    }

    [Fact]
    public void A_node_on_its_own_makes_a_private_authority_once_and_keeps_it()
    {
        var options = Options("avalon.irc", NodeRole.Primary);

        var first = options.Tls.Load(options);
        var again = options.Tls.Load(options);

        Assert.True(first.Claims.ServesHost("avalon.irc") && first.Claims.MayHoldPrimariesOf(Muc));
        Assert.Equal(first.Certificate.Thumbprint, again.Certificate.Thumbprint);
        Assert.True(File.Exists(Path.Combine(_folder, "tls", "ca.pem")));
    }

    private NodeOptions Options(string host, NodeRole role) => new() { Domain = Muc, Secret = "s", HostDomain = host, Role = role, Data = _folder };

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
