using System.CommandLine;
using Dmuc.Credentials;

namespace Dmuc.Cli;

/// <summary>
/// <c>dmuc certs</c>: the cluster's authority and node certificates, made locally as PEM files (nothing is
/// downloaded or sent anywhere). Nodes trust exactly the authority in the folder (docs/operations.md#security).
/// </summary>
public sealed partial class DmucCli
{
    private static readonly TimeSpan AuthorityValidity = TimeSpan.FromDays(3650);

    private Command CertsCommand()
    {
        var folder = new Option<string>("--dir", "-d") { Description = "Where the PEM files are (ca.pem, ca-key.pem, NAME.pem, NAME-key.pem)", Required = true, Recursive = true };
        var authorityName = new Option<string>("--name") { Description = "The authority's name", DefaultValueFactory = _ => "Dmuc cluster authority" };
        var authority = new Command("authority", "Create the cluster's authority in --dir (kept if it exists)") { authorityName };
        authority.SetAction(parse => Issuing(() =>
        {
            var dir = parse.GetValue(folder)!;
            var created = CredentialFiles.EnsureAuthority(dir, parse.GetValue(authorityName)!, AuthorityValidity);
            _output.WriteLine($"{CredentialFiles.CertificatePath(dir, CredentialFiles.AuthorityName)}: {created.Subject}, valid until {created.NotAfter:yyyy-MM-dd}");
        }));

        var nodeName = new Option<string>("--name") { Description = "The node's name (its files are NAME.pem and NAME-key.pem)", Required = true };
        var hosts = new Option<string[]>("--host") { Description = "An XMPP host whose users the node serves (repeatable)", AllowMultipleArgumentsPerToken = true };
        var primaries = new Option<string[]>("--primary") { Description = "A MUC domain whose rooms the node may hold as primary (repeatable)", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity in days", DefaultValueFactory = _ => 825 };
        var node = new Command("node", "Issue a node certificate from the authority in --dir") { nodeName, hosts, primaries, days };
        node.SetAction(parse => Issuing(() =>
        {
            var dir = parse.GetValue(folder)!;
            var claims = NodeClaims.For(parse.GetValue(nodeName)!, parse.GetValue(hosts) ?? [], parse.GetValue(primaries) ?? []);
            var issued = CredentialFiles.IssueNode(dir, CredentialFiles.ReadAuthority(dir), claims, TimeSpan.FromDays(parse.GetValue(days)));
            _output.WriteLine($"{CredentialFiles.CertificatePath(dir, claims.NodeName)}: {issued.Claims}, valid until {issued.Certificate.NotAfter:yyyy-MM-dd}");
        }));

        return new Command("certs", "Make the cluster's authority and node certificates (mutual TLS between nodes)") { folder, authority, node };
    }

    private int Issuing(Action issue)
    {
        try
        {
            issue();
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is CredentialException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            _error.WriteLine($"dmuc certs: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}
