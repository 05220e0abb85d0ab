namespace Dmuc.Actors.Replication;

/// <summary>
/// When a replica sends its primary a receipt (<see cref="DeliveryReceipt"/>, docs/protocol/netjoin.md §5): one at a time, each once
/// the server's stream took what it covers, only when it says something new, and after a pause behind the one before, so that a busy
/// room sends a few a second and a quiet one each at once. A part of <see cref="ReplicaRoomState"/>, changed only by its events.
/// </summary>
public sealed class ReceiptPacing
{
    /// <summary>
    /// After a receipt, the next waits this long. What a crash can make the host's users get twice is what was written within about
    /// this long before it.
    /// </summary>
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(20);

    /// <summary>When the server's stream could not say a receipt's stanzas were written (it was down): tried again after this.</summary>
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(1);

    // The last receipt the primary was sent: the next is sent only when it says something new.
    private DeliveryReceipt? _lastSent;
    private bool _writing;
    private bool _paused;

    /// <summary>No receipt is being written or paused after: one may be taken if it says something new.</summary>
    public bool Idle => !_writing && !_paused;

    /// <summary><paramref name="receipt"/> if it is to be written now: the pacing is <see cref="Idle"/>, and it says something new of someone.</summary>
    public DeliveryReceipt? Due(DeliveryReceipt receipt) =>
        !Idle || receipt.Sessions.Count == 0 || (_lastSent is not null && receipt.SameAs(_lastSent)) ? null : receipt;

    /// <summary>What a receipt's write ended in: whether it is sent, and how long the next waits.</summary>
    public static (ReplicaRoomEvent[] Events, TimeSpan Pause) Ended(ReceiptWriteEnded ended, bool inStep)
    {
        var sent = ended.Written && inStep && ended.Link == LinkState.Linked;
        return (sent ? [new ReceiptSent(ended.Receipt), ReceiptPaused.Instance] : [ReceiptPaused.Instance], ended.Written ? Pause : Retry);
    }

    public void Apply(ReplicaRoomEvent happened)
    {
        switch (happened)
        {
            case ReceiptWriting:
                _writing = true;
                break;
            case ReceiptSent sent:
                _lastSent = sent.Receipt;
                break;
            case ReceiptPaused:
                _writing = false;
                _paused = true;
                break;
            case ReceiptPauseEnded:
                _paused = false;
                break;
            case ReceiptsToBeSentAnew:
                _lastSent = null;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(happened), happened, "not an event of a replica's receipts");
        }
    }
}
