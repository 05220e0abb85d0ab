namespace Dmuc.Host.Management;

/// <summary>What the management endpoint needs to know of the node it runs in, beyond its services.</summary>
public sealed record ManagedNode(NodeRole Role, string ServiceDomain);
