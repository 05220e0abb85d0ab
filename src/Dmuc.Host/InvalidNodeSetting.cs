using Dmuc.Credentials;
using Microsoft.Extensions.Configuration;

namespace Dmuc.Host;

/// <summary>
/// A node that cannot start because of its settings (or its credential) says which one in a single line and exits with
/// <see cref="ExitCode"/>; a stack trace would bury the setting's name and suggest a bug.
/// </summary>
public static class InvalidNodeSetting
{
    /// <summary>sysexits.h EX_CONFIG.</summary>
    public const int ExitCode = 78;

    /// <summary>
    /// Whether <paramref name="error"/> was raised while reading or checking the settings (a value that does not bind,
    /// or one the options refuse), as opposed to a failure of the node itself, which keeps its stack trace.
    /// </summary>
    public static bool IsSettingError(Exception error) =>
        error is CredentialException or InvalidSettingException
        || error is InvalidOperationException && error.TargetSite?.DeclaringType == typeof(ConfigurationBinder);

    public static string Describe(Exception error) => $"dmuc-node: {error.Message.ReplaceLineEndings(" ")}";
}
