namespace Dmuc.Actors.Component;

/// <summary>
/// The receiving side of the own-host relay, on the node whose component stream serves the host: which relays go out
/// through the stream and which confirmations go back. A relay is taken only while this node serves the host (otherwise its
/// sender sends it again where the cluster names); a relay sent again after a lost confirmation is confirmed, not sent
/// twice. Confirmations wait until the stream wrote what they cover (<see cref="IStanzaSink.AllWritten"/>), one check at a
/// time per sending session. Pure: <see cref="OwnHostRelayActor"/> checks the stream and sends.
/// </summary>
public sealed class OwnHostRelayIntake
{
    private readonly Dictionary<string, SessionState> _sessions = new();

    private sealed class SessionState
    {
        public long Taken;
        public long Confirmed;
        public bool Checking;
    }

    /// <param name="Deliver">Whether the relay's deliveries go out through this node's stream now.</param>
    /// <param name="CheckWrittenUpTo">Check that the stream wrote everything so far, then confirm up to this number.</param>
    /// <param name="ConfirmAgain">A relay sent again that was confirmed already: its confirmation was lost.</param>
    public sealed record Intake(bool Deliver, long? CheckWrittenUpTo, RelayedDeliveriesWritten? ConfirmAgain = null);

    public Intake Take(RelayedDeliveries relay, bool thisNodeServes)
    {
        if (!thisNodeServes) return new Intake(false, null);
        if (!_sessions.TryGetValue(relay.Session, out var state)) _sessions[relay.Session] = state = new SessionState();
        if (relay.Number <= state.Confirmed)
            return new Intake(false, null, new RelayedDeliveriesWritten(relay.Session, state.Confirmed));
        var fresh = relay.Number > state.Taken;
        if (fresh) state.Taken = relay.Number;
        return new Intake(fresh, NextCheck(state));
    }

    /// <summary>The stream's answer to a check up to <paramref name="number"/>: what to confirm, and whether to check again (sooner if it had no stream).</summary>
    public (RelayedDeliveriesWritten? Confirm, long? CheckAgainUpTo) Checked(string session, long number, bool written)
    {
        if (!_sessions.TryGetValue(session, out var state)) return (null, null);
        state.Checking = false;
        RelayedDeliveriesWritten? confirm = null;
        if (written && number > state.Confirmed)
        {
            state.Confirmed = number;
            confirm = new RelayedDeliveriesWritten(session, number);
        }
        return (confirm, NextCheck(state));
    }

    private static long? NextCheck(SessionState state)
    {
        if (state.Checking || state.Taken <= state.Confirmed) return null;
        state.Checking = true;
        return state.Taken;
    }
}
