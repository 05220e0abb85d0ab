namespace Dmuc.Integration.Tests.Infrastructure;

public static class RepositoryPaths
{
    private const string SolutionFileName = "Dmuc.Actors.sln";

    /// <summary>The folder that holds Dmuc.Actors.sln, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Prosody's MUC scansion scripts, kept beside the repository (../shared/conformance).</summary>
    public static string ConformanceScriptsDirectory
    {
        get
        {
            var directory = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "conformance", "prosody-scansion"));
            if (!Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException(
                    $"The conformance scripts are missing: expected Prosody's muc_*.scs in {directory} " +
                    $"(resolved as <repository root>/../shared/conformance/prosody-scansion).");
            }
            return directory;
        }
    }

    /// <summary>Scripts of this project that must fail; copied next to the test assembly.</summary>
    public static string NegativeScriptsDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "Scansion", "negative");

    /// <summary>Our scripts with clients on several XMPP hosts (negative ones in its "negative" folder); copied next to the test assembly.</summary>
    public static string MultiHostScriptsDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "Scansion", "multihost");

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFileName)))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException(
            $"No {SolutionFileName} in {AppContext.BaseDirectory} or any parent folder: cannot locate the repository root.");
    }
}
