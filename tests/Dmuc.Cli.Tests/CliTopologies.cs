namespace Dmuc.Cli.Tests;

/// <summary>
/// The CLI test classes each start real servers (one node, or three hosts); they run one after the other so that
/// their cold starts do not compete for the machine's two cores.
/// </summary>
public static class CliTopologies
{
    public const string Collection = "CLI against running nodes";
}
