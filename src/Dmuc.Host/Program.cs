using Microsoft.Extensions.Hosting;
using Dmuc.Credentials;
using Dmuc.Host;

IHost node;
try
{
    node = DmucNode.Build(args);
}
catch (Exception e) when (e is InvalidOperationException or CredentialException)
{
    // A setting the operator must fix: one line naming it, not a stack trace.
    Console.Error.WriteLine($"dmuc-node: {e.Message}");
    return 2;
}
using (node) await node.RunAsync();
return 0;
