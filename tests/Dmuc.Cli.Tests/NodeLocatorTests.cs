using System.Text.Json;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli.Tests;

/// <summary>Which node the CLI asks when the command line names none.</summary>
public sealed class NodeLocatorTests : IDisposable
{
    private const string Default = ManagementDefaults.Url;
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("dmuc-locator-");

    [Fact]
    public void Without_anything_it_asks_the_default_address_and_says_so()
    {
        var (node, _) = Locator().Locate(given: null);
        Assert.Equal(new LocatedNode(new Uri(Default), "the default address"), node);
    }

    [Fact]
    public void The_command_line_wins_over_the_environment_and_a_bare_host_port_is_http()
    {
        var environment = new Dictionary<string, string> { ["DMUC_NODE"] = "http://127.0.0.1:1111" };
        Assert.Equal(new Uri("http://127.0.0.1:2222"), Locator(environment).Locate("127.0.0.1:2222").Node!.Url);
        Assert.Equal(new LocatedNode(new Uri("http://127.0.0.1:1111"), "$DMUC_NODE"), Locator(environment).Locate(null).Node);
    }

    [Fact]
    public void A_local_topology_above_the_working_directory_points_at_its_primary_wherever_it_is_listed()
    {
        var topology = WriteTopology(Path.Combine(_root.FullName, "deploy", "local", "run"));
        var below = Directory.CreateDirectory(Path.Combine(_root.FullName, "src", "Dmuc.Cli")).FullName;
        Assert.Equal(new LocatedNode(new Uri("http://127.0.0.1:4059"), topology), Locator(workingDirectory: below).Locate(null).Node);
    }

    [Fact]
    public void DMUC_LOCAL_RUN_DIR_names_the_topology_and_DMUC_NODE_still_wins_over_it()
    {
        var elsewhere = Path.Combine(_root.FullName, "elsewhere");
        WriteTopology(elsewhere);
        var environment = new Dictionary<string, string> { ["DMUC_LOCAL_RUN_DIR"] = elsewhere };
        Assert.Equal(new Uri("http://127.0.0.1:4059"), Locator(environment).Locate(null).Node!.Url);
        environment["DMUC_NODE"] = "127.0.0.1:9";
        Assert.Equal(new Uri("http://127.0.0.1:9"), Locator(environment).Locate(null).Node!.Url);
    }

    [Fact]
    public void A_topology_without_management_addresses_is_reported_rather_than_skipped()
    {
        var run = Directory.CreateDirectory(Path.Combine(_root.FullName, "deploy", "local", "run")).FullName;
        File.WriteAllText(Path.Combine(run, "topology.json"), """{ "hosts": [ { "node": { "role": "primary" } } ] }""");
        var (node, problem) = Locator().Locate(null);
        Assert.Null(node);
        Assert.Contains("names no node's management address", problem);
    }

    [Theory]
    [InlineData("https://127.0.0.1:1")]
    [InlineData("http://")]
    public void What_is_not_an_http_endpoint_is_refused_naming_where_it_came_from(string given)
    {
        var (node, problem) = Locator(new Dictionary<string, string> { ["DMUC_NODE"] = given }).Locate(null);
        Assert.Null(node);
        Assert.Contains("from $DMUC_NODE", problem);
    }

    private NodeLocator Locator(Dictionary<string, string>? environment = null, string? workingDirectory = null) =>
        new(name => environment?.GetValueOrDefault(name), workingDirectory ?? _root.FullName, Default);

    /// <summary>up.sh's topology.json, replicas listed first: the locator must still pick the primary.</summary>
    private static string WriteTopology(string runDirectory)
    {
        Directory.CreateDirectory(runDirectory);
        var path = Path.Combine(runDirectory, "topology.json");
        var hosts = new[] { ("killrc.oulubox.irc", "replica", 4069), ("avalon.irc", "primary", 4059) }.Select(host => new
        {
            domain = host.Item1,
            node = new { role = host.Item2, management_address = $"http://127.0.0.1:{host.Item3}" },
        });
        File.WriteAllText(path, JsonSerializer.Serialize(new { muc_domain = "channel.avalon.irc", hosts }));
        return path;
    }

    public void Dispose() => _root.Delete(recursive: true);
}
