namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// What an XEP-0114 component needs to join Prosody: connect to Host:Port, handshake as Domain with Secret.
/// ServiceAdmins are the bare JIDs the scripts treat as MUC service administrators (admin@localhost).
/// </summary>
public sealed record ComponentEndpoint(string Host, int Port, string Domain, string Secret, IReadOnlyList<string> ServiceAdmins);
