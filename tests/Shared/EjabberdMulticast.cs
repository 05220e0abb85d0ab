using System.Diagnostics;

namespace Dmuc.Testing;

/// <summary>Which XEP-0033 multicast service an ejabberd host gives the Dmuc component.</summary>
public enum EjabberdMulticastService
{
    /// <summary>
    /// deploy/ejabberd's mod_dmuc_multicast on the host itself: fans out in the component's own process, keeps the
    /// component stream's order (the node uses it without Dmuc:Multicast:AllowUnordered).
    /// </summary>
    DmucModule,

    /// <summary>ejabberd's own mod_multicast at multicast.HOST, for operators without Dmuc's module: one process for the host, unordered.</summary>
    ModMulticast,
}

/// <summary>
/// The part of an ejabberd.yml that gives a Dmuc component XEP-0033 multicast, for the component's domain alone, with
/// limits at least the node's Dmuc:Multicast:MaxAddresses, and how to build Dmuc's module for it.
/// deploy/examples/ejabberd-host.yml has the same. Compiled into tests/Dmuc.Integration.Tests and bench/Dmuc.LoadTest
/// as a linked source file.
/// </summary>
internal static class EjabberdMulticast
{
    /// <summary>The most addresses a multicast may carry: Dmuc's default Dmuc:Multicast:MaxAddresses.</summary>
    public const int MaxAddresses = 100;

    /// <summary>The config's top-level acl, access_rules and modules, each line YAML-ready.</summary>
    public static IEnumerable<string> ConfigLines(string quotedMucDomain, EjabberdMulticastService service) => service switch
    {
        EjabberdMulticastService.DmucModule =>
        [
            "modules:",
            "  mod_disco: {}",
            "  mod_dmuc_multicast:",
            $"    senders: [{quotedMucDomain}]",
            $"    max_addresses: {MaxAddresses}",
        ],
        _ =>
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
        ],
    };

    /// <summary>
    /// Compiles mod_dmuc_multicast.erl with the build.sh beside it in <paramref name="moduleDirectory"/> (a copy of
    /// deploy/ejabberd) against the installed ejabberd (<paramref name="erlangLibraries"/>, its ERL_LIBS) into
    /// <paramref name="outputDirectory"/>, which goes on ejabberd's code path (erl -pa).
    /// </summary>
    public static async Task CompileModuleAsync(string moduleDirectory, string outputDirectory, string erlangLibraries,
        CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { Path.Combine(moduleDirectory, "build.sh"), outputDirectory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["ERL_LIBS"] = erlangLibraries },
        };
        using var build = Process.Start(startInfo)!;
        var output = build.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = build.StandardError.ReadToEndAsync(cancellationToken);
        await build.WaitForExitAsync(cancellationToken);
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"Building mod_dmuc_multicast failed ({build.ExitCode}):\n{await output}{await errors}");
    }
}
