using System.Text.RegularExpressions;
using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Infrastructure;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Dmuc.Integration.Tests.Deployment;

/// <summary>
/// Our machines have no Docker engine, so the compose file cannot be run here; these tests check instead that
/// everything it names exists and fits together: files, build contexts, dependencies, ports, and that each
/// node's component secret and domain match its Prosody's configuration.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Root = RepositoryPaths.RepositoryRoot;
    private static readonly YamlMappingNode Services = LoadServices();

    private static IReadOnlyList<string> Names => Services.Children.Keys.Select(key => ((YamlScalarNode)key).Value!).ToList();

    public static TheoryData<string> ServiceNames() => new(Names);

    [Fact]
    public void The_compose_file_runs_three_hosts_three_nodes_and_a_database()
    {
        var names = Names;
        Assert.Equal(3, names.Count(name => name.StartsWith("prosody-", StringComparison.Ordinal)));
        Assert.Equal(3, names.Count(name => name.StartsWith("dmuc-", StringComparison.Ordinal)));
        Assert.Contains("postgres", names);
    }

    [Theory]
    [MemberData(nameof(ServiceNames))]
    public void Every_file_a_service_mounts_or_builds_from_exists(string service)
    {
        var definition = (YamlMappingNode)Services[service];
        if (definition.Children.TryGetValue("build", out var build))
        {
            var context = Path.Combine(Root, Scalar(build, "context"));
            Assert.True(Directory.Exists(context), $"{service}: build context {context} is missing");
            Assert.True(File.Exists(Path.Combine(context, Scalar(build, "dockerfile"))), $"{service}: Dockerfile is missing");
        }
        foreach (var volume in Sequence(definition, "volumes").Select(node => ((YamlScalarNode)node).Value!))
        {
            var source = volume.Split(':')[0];
            if (!source.StartsWith("./", StringComparison.Ordinal)) continue;
            Assert.True(File.Exists(Path.Combine(Root, source)), $"{service}: {source} is missing");
        }
        foreach (var dependency in Sequence(definition, "depends_on").Select(node => ((YamlScalarNode)node).Value!))
            Assert.True(Services.Children.ContainsKey(dependency), $"{service} depends on unknown service {dependency}");
    }

    [Fact]
    public void Published_client_ports_do_not_clash()
    {
        var hostPorts = Services.Children.Values.OfType<YamlMappingNode>()
            .SelectMany(service => Sequence(service, "ports"))
            .Select(port => ((YamlScalarNode)port).Value!.Split(':')[0])
            .ToList();
        Assert.Equal(hostPorts.Count, hostPorts.Distinct().Count());
    }

    [Theory]
    [InlineData("dmuc-avalon", "prosody-avalon")]
    [InlineData("dmuc-killrc", "prosody-killrc")]
    [InlineData("dmuc-eris", "prosody-eris")]
    public void Each_node_connects_to_its_own_Prosody_with_the_secret_and_domain_it_declares(string node, string prosody)
    {
        var command = Scalar(Services[node], "command");
        var config = File.ReadAllText(Path.Combine(Root, Sequence((YamlMappingNode)Services[prosody], "volumes")
            .Select(v => ((YamlScalarNode)v).Value!.Split(':')[0]).Single()));
        Assert.Contains($"--server {prosody}:5347", command);
        var domain = Regex.Match(command, @"--domain (\S+)").Groups[1].Value;
        var secret = Regex.Match(command, @"--secret (\S+)").Groups[1].Value;
        var hostDomain = Regex.Match(command, @"--host-domain (\S+)").Groups[1].Value;
        Assert.Contains($"Component \"{domain}\"", config);
        Assert.Contains($"component_secret = \"{secret}\"", config);
        Assert.Contains($"VirtualHost \"{hostDomain}\"", config);
    }

    [Theory]
    [InlineData("deploy/docker/Dockerfile")]
    [InlineData("deploy/systemd/dmuc-node.service")]
    [InlineData("deploy/kubernetes/dmuc.yaml")]
    [InlineData("deploy/examples/prosody-host.cfg.lua")]
    [InlineData("deploy/examples/ejabberd-host.yml")]
    public void Deployment_file_exists(string path) => Assert.True(File.Exists(Path.Combine(Root, path)), path);

    /// <summary>
    /// The image is built from what the Dockerfile copies: without Directory.Build.targets its node would start with the
    /// runtime's defaults instead of the settings measured for a node (tiered compilation off, no thread-pool spinning;
    /// docs/benchmarks.md, issue 11).
    /// </summary>
    [Fact]
    public void The_image_builds_with_every_build_file_of_the_repository_root()
    {
        var copied = Regex.Matches(File.ReadAllText(Path.Combine(Root, "deploy/docker/Dockerfile")), @"^COPY (?!--from)(.*) \S+$", RegexOptions.Multiline)
            .SelectMany(copy => copy.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        Assert.All(Directory.GetFiles(Root, "Directory.Build.*").Select(path => Path.GetFileName(path)), file => Assert.Contains(file, copied));
    }

    /// <summary>
    /// Prosody 0.12 starts a collection whenever its heap has grown by 5 % (its default threshold 105), which cost half the
    /// Prosodies' CPU in a join of 500 over three hosts: every Prosody configuration we ship sets Lua's own pause, with
    /// parameters Prosody's util.gc accepts (docs/operations.md#prosodys-garbage-collector).
    /// </summary>
    [Theory]
    [InlineData("deploy/examples/prosody-host.cfg.lua")]
    [InlineData("deploy/local/up.sh")]
    [InlineData("deploy/single/run.sh")]
    [InlineData("deploy/compose/prosody/avalon.cfg.lua")]
    [InlineData("deploy/compose/prosody/killrc.cfg.lua")]
    [InlineData("deploy/compose/prosody/eris.cfg.lua")]
    public void Every_Prosody_configuration_we_ship_collects_garbage_at_Lua_s_own_pause(string path)
    {
        var setting = Regex.Match(File.ReadAllText(Path.Combine(Root, path)), @"^gc = (\{.*\})$", RegexOptions.Multiline);
        Assert.True(setting.Success, $"{path} leaves Prosody's garbage collector at its default");
        Assert.Equal("{ mode = \"incremental\", threshold = 200, speed = 500 }", setting.Groups[1].Value);

        using var lua = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("lua5.4",
            ["-e", $"package.path = '/usr/lib/prosody/?.lua;' .. package.path; assert(require('util.gc').configure({setting.Groups[1].Value}, {{}}))"])
            { RedirectStandardError = true })!;
        var error = lua.StandardError.ReadToEnd();
        lua.WaitForExit();
        Assert.True(lua.ExitCode == 0, $"Prosody's util.gc refuses {setting.Groups[1].Value}: {error}");
    }

    [Fact]
    public void The_Kubernetes_manifest_is_valid_yaml_with_a_headless_service_and_a_stateful_set()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Root, "deploy/kubernetes/dmuc.yaml"))));
        var kinds = stream.Documents.Select(document => Scalar(document.RootNode, "kind")).ToList();
        Assert.Contains("StatefulSet", kinds);
        var service = stream.Documents.Single(document => Scalar(document.RootNode, "kind") == "Service").RootNode;
        Assert.Equal("None", Scalar(((YamlMappingNode)service)["spec"], "clusterIP"));
    }

    /// <summary>
    /// The listener operators copy from the example is the one EjabberdHostTests runs ejabberd 23.01 with: same keys,
    /// the component's domain under hosts with its password, and no mod_muc claiming that domain.
    /// </summary>
    [Fact]
    public void The_ejabberd_example_declares_the_component_listener_the_ejabberd_tests_run()
    {
        var example = LoadYaml(File.ReadAllText(Path.Combine(Root, "deploy/examples/ejabberd-host.yml")));
        var tested = LoadYaml(EjabberdConfig.Render(new EjabberdOptions("avalon.irc", "channel.avalon.irc"),
            new EjabberdPorts(ClientToServer: 5222, Component: 5347), componentSecret: "change-me"));

        var exampleListener = ComponentListener(example);
        var testedListener = ComponentListener(tested);
        Assert.Equal(Keys(testedListener), Keys(exampleListener));
        Assert.Equal("127.0.0.1", Scalar(exampleListener, "ip"));
        var exampleHosts = (YamlMappingNode)exampleListener["hosts"];
        Assert.Equal(Keys((YamlMappingNode)testedListener["hosts"]), Keys(exampleHosts));
        var component = (YamlMappingNode)exampleHosts["channel.avalon.irc"];
        Assert.Equal(["password"], Keys(component));
        Assert.False(example.Children.TryGetValue("modules", out var modules) && ((YamlMappingNode)modules).Children.ContainsKey("mod_muc"),
            "the example must not load mod_muc: the component owns the MUC domain");
    }

    /// <summary>The multicast service operators copy from the example is the one MulticastTests runs ejabberd with.</summary>
    [Fact]
    public void The_ejabberd_example_configures_multicast_as_the_ejabberd_tests_run_it()
    {
        var example = LoadYaml(File.ReadAllText(Path.Combine(Root, "deploy/examples/ejabberd-host.yml")));
        var tested = LoadYaml(EjabberdConfig.Render(new EjabberdOptions("avalon.irc", "channel.avalon.irc"),
            new EjabberdPorts(ClientToServer: 5222, Component: 5347), componentSecret: "change-me"));

        foreach (var path in new[] { new[] { "modules", "mod_disco" }, ["modules", "mod_dmuc_multicast"] })
            Assert.Equal(Flatten(Node(tested, path)), Flatten(Node(example, path)));
    }

    private static YamlNode Node(YamlMappingNode config, IEnumerable<string> path) =>
        path.Aggregate((YamlNode)config, (node, key) => ((YamlMappingNode)node)[key]);

    /// <summary>Every leaf with its path, in order: two trees are equal when these are.</summary>
    private static IEnumerable<string> Flatten(YamlNode node, string prefix = "") => node switch
    {
        YamlMappingNode mapping => mapping.Children.OrderBy(child => ((YamlScalarNode)child.Key).Value, StringComparer.Ordinal)
            .SelectMany(child => Flatten(child.Value, $"{prefix}/{((YamlScalarNode)child.Key).Value}")).DefaultIfEmpty(prefix + "={}"),
        YamlSequenceNode sequence => sequence.Children.SelectMany((child, index) => Flatten(child, $"{prefix}[{index}]")),
        _ => [$"{prefix}={((YamlScalarNode)node).Value}"],
    };

    private static YamlMappingNode ComponentListener(YamlMappingNode config) =>
        Sequence(config, "listen").OfType<YamlMappingNode>().Single(listener => Scalar(listener, "module") == "ejabberd_service");

    private static IEnumerable<string> Keys(YamlMappingNode node) =>
        node.Children.Keys.Select(key => ((YamlScalarNode)key).Value!).Order(StringComparer.Ordinal);

    private static YamlMappingNode LoadYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode LoadServices() =>
        (YamlMappingNode)LoadYaml(File.ReadAllText(Path.Combine(Root, "docker-compose.yml")))["services"];

    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node)[key]).Value!;

    private static IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlSequenceNode)value).Children : [];

    /// <summary>
    /// The Grafana dashboard queries only metrics the nodes export (the instruments docs/operations.md lists, which the
    /// scrape tests check against real nodes) and charts every one of them.
    /// </summary>
    [Fact]
    public void The_Grafana_dashboard_charts_every_documented_metric_and_nothing_else()
    {
        using var dashboard = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "deploy/grafana/dmuc-dashboard.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .Select(target => target.GetProperty("expr").GetString()!)
            .ToList();
        Assert.NotEmpty(expressions);
        // Histograms are queried through their _bucket and _count series.
        var queried = expressions.SelectMany(expression => MetricName().Matches(expression).Select(match => match.Value))
            .Select(name => Regex.Replace(name, "_(bucket|count|sum)$", ""))
            .ToHashSet();
        var operations = File.ReadAllText(Path.Combine(Root, "docs/operations.md"));
        var documented = Regex.Matches(operations, @"^\| `(dmuc_[a-z_]+)` \|", RegexOptions.Multiline).Select(match => match.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(documented);
        Assert.Equal(documented.Order(), queried.Order());
    }

    [GeneratedRegex("dmuc_[a-z_]+")]
    private static partial Regex MetricName();
}
