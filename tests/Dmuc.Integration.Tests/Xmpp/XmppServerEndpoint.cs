namespace Dmuc.Integration.Tests.Xmpp;

/// <summary>Where a client connects (Host:Port) and the XMPP domain it names in its stream header.</summary>
public sealed record XmppServerEndpoint(string Host, int Port, string Domain);
