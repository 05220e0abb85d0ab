using Akka.Actor;

namespace Dmuc.Actors.Component;

/// <summary>
/// The shutdown a node starts its actor system again from, in the same process (Dmuc.Host's <c>ActorSystemRestarts</c>):
/// Akka.Remote's on a failed outbound TLS handshake, which a peer dying during the handshake causes. Its occupants are
/// not told that they leave (332): the restarted system relearns them as after a crash (docs/protocol/netjoin.md §5),
/// and a goodbye would put every user of the host out of every room for a restart of a few seconds.
/// </summary>
public static class RestartingShutdown
{
    /// <summary>Akka.Remote's <c>TlsHandshakeFailureReason</c> (an internal type) says itself by this code.</summary>
    public const int TlsHandshakeFailureExitCode = 79;

    public static bool Is(CoordinatedShutdown.Reason? reason) => reason?.ExitCode == TlsHandshakeFailureExitCode;
}
