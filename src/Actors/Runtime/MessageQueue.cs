using System.Diagnostics;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>A user message and its sender, as they wait in a mailbox or a stash.</summary>
internal readonly record struct Envelope(object Message, IActorRef? Sender);

/// <summary>
/// The user-message queue of a mailbox: an intrusive multi-producer single-consumer linked queue
/// (Vyukov). An empty queue is one stub node, so an idle actor costs a few dozen bytes here.
/// </summary>
/// <remarks>
/// Invariants: producers only touch <see cref="_tail"/> (one atomic exchange) and then link the
/// previous tail to their node; only the mailbox's consumer reads <see cref="_head"/>. Between a
/// producer's exchange and its link, the node is queued but not yet reachable from the head: the
/// consumer then sees <see cref="TryDequeue"/> fail while <see cref="HasMessages"/> is true, and the
/// mailbox reschedules itself rather than going idle, so no message is ever stranded.
/// </remarks>
internal sealed class MessageQueue
{
    private Node _head;
    private Node _tail;

    public MessageQueue()
    {
        _head = _tail = new Node(null!, null);
    }

    /// <summary>True when a producer has queued something the consumer has not taken yet.</summary>
    public bool HasMessages => !ReferenceEquals(Volatile.Read(ref _tail), _head);

    /// <summary>Queues a message; callable from any thread, lock-free and wait-free.</summary>
    public void Enqueue(object message, IActorRef? sender)
    {
        var node = new Node(message, sender);
        var previous = Interlocked.Exchange(ref _tail, node);
        Volatile.Write(ref previous.Next, node);
    }

    /// <summary>Takes the oldest message; only the mailbox's consumer may call this.</summary>
    public bool TryDequeue(out Envelope envelope)
    {
        var next = Volatile.Read(ref _head.Next);
        if (next is null)
        {
            envelope = default;
            return false;
        }

        envelope = new Envelope(next.Message, next.Sender);

        // The dequeued node becomes the new stub; clear it so the message can be collected.
        next.Message = null!;
        next.Sender = null;
        _head = next;
        AssertInvariants();
        return true;
    }

    [Conditional("DEBUG")]
    private void AssertInvariants() => Debug.Assert(_head.Message is null, "The stub node never holds a message.");

    private sealed class Node(object message, IActorRef? sender)
    {
        public object Message = message;
        public IActorRef? Sender = sender;
        public Node? Next;
    }
}
