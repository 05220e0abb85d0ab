namespace Dmuc.Host;

/// <summary>A setting the node's options refuse; the message names the setting.</summary>
public sealed class InvalidSettingException(string message) : InvalidOperationException(message);
