namespace Dmuc.Testing;

/// <summary>
/// The part of an ejabberd.yml that gives a Dmuc component XEP-0033 multicast: ejabberd's mod_multicast (at
/// multicast.HOST, listed by mod_disco) for the component's domain alone, with limits above the node's
/// Dmuc:Multicast:MaxAddresses. deploy/examples/ejabberd-host.yml has the same. Compiled into
/// tests/Dmuc.Integration.Tests and bench/Dmuc.LoadTest as a linked source file.
/// </summary>
internal static class EjabberdMulticast
{
    /// <summary>The config's top-level acl, access_rules and modules, each line YAML-ready.</summary>
    public static IEnumerable<string> ConfigLines(string quotedMucDomain) =>
    [
        "acl:",
        "  dmuc_component:",
        $"    server: {quotedMucDomain}",
        "access_rules:",
        "  dmuc_multicast:",
        "    allow: dmuc_component",
        "modules:",
        "  mod_disco: {}",
        "  mod_multicast:",
        "    access: dmuc_multicast",
        "    limits:",
        "      local: {message: 1000, presence: 1000}",
        "      remote: {message: 1000, presence: 1000}",
    ];
}
