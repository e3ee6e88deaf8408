using System.Diagnostics;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>The mailbox: scheduling on the thread pool and the run loop (Akka's <c>Mailbox.Run</c>).</summary>
internal sealed partial class ActorCell : IThreadPoolWorkItem
{
    private readonly MessageQueue _queue = new();

    /// <summary>Messages put back in front of the queue by Unstash; consumer-only.</summary>
    private Queue<Envelope>? _prepended;

    /// <summary>Lock-free LIFO stack of pending system messages; any thread pushes, whoever exchanges it out owns the list.</summary>
    private SystemMessage? _systemHead;

    /// <summary>1 while the cell is queued on or running on the thread pool; guards against running twice at once.</summary>
    private int _scheduled;

    /// <summary>
    /// One turn: all system messages, then at most <see cref="ActorSystem.Throughput"/> user messages
    /// (system messages are checked again after each), then yield the thread.
    /// </summary>
    public void Execute()
    {
        var previous = _current;
        _current = this;
        try
        {
            ProcessSystemMessages();
            var budget = _system.Throughput;
            while (budget-- > 0 && Volatile.Read(ref _state) == StateNormal && TryDequeue(out var envelope))
            {
                Invoke(envelope);
                ProcessSystemMessages();
            }

            if (Volatile.Read(ref _state) == StateTerminated)
            {
                DrainToDeadLetters();
            }
        }
        finally
        {
            _current = previous;

            // A full fence, not a release write: the HasWork read below must not move before the
            // store. Otherwise (store-load reordering, allowed even on x86) a producer can enqueue and
            // still see _scheduled == 1 while we read the queue as empty: nobody schedules, and the
            // message is stranded until the next Tell (a lost wake-up, seen as a rare benchmark hang).
            Interlocked.Exchange(ref _scheduled, 0);

            // A producer that enqueued while we ran saw _scheduled == 1 and left the scheduling to us.
            // This reschedule goes to the global queue: the actor yielded its turn (budget spent or
            // messages arriving late), so it queues behind the others instead of running again at once.
            if (HasWork())
            {
                TrySchedule(preferLocal: false);
            }
        }
    }

    /// <summary>
    /// Queues the mailbox unless it is already queued or running. <paramref name="preferLocal"/> puts it
    /// on the current pool thread's local queue: right for a Tell from inside an actor (the receiver
    /// runs next on the same core, its data still in cache, without contending on the global queue);
    /// other pool threads steal from local queues, so no actor waits for one busy thread.
    /// </summary>
    private void TrySchedule(bool preferLocal)
    {
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal);
        }
    }

    private bool HasWork()
    {
        if (Volatile.Read(ref _systemHead) is not null)
        {
            return true;
        }

        var state = Volatile.Read(ref _state);
        return (state == StateNormal || state == StateTerminated)
            && (_queue.HasMessages || _prepended is { Count: > 0 });
    }

    private bool TryDequeue(out Envelope envelope)
    {
        if (_prepended is { Count: > 0 } prepended)
        {
            envelope = prepended.Dequeue();
            return true;
        }

        return _queue.TryDequeue(out envelope);
    }

    /// <summary>Puts messages in front of the mailbox, in order, ahead of anything already put there.</summary>
    internal void Prepend(IReadOnlyCollection<Envelope> envelopes)
    {
        if (envelopes.Count == 0)
        {
            return;
        }

        var existing = _prepended;
        _prepended = new Queue<Envelope>(envelopes);
        if (existing is not null)
        {
            foreach (var envelope in existing)
            {
                _prepended.Enqueue(envelope);
            }
        }
    }

    private void PushSystemMessage(SystemMessage message)
    {
        SystemMessage? head;
        do
        {
            head = Volatile.Read(ref _systemHead);
            message.Next = head;
        }
        while (Interlocked.CompareExchange(ref _systemHead, message, head) != head);
    }

    /// <summary>Takes every pending system message and handles them oldest first.</summary>
    private void ProcessSystemMessages()
    {
        while (Volatile.Read(ref _systemHead) is not null)
        {
            var list = Interlocked.Exchange(ref _systemHead, null);

            // The stack is newest first: reverse it so messages are handled in the order sent.
            SystemMessage? ordered = null;
            while (list is not null)
            {
                var next = list.Next;
                list.Next = ordered;
                ordered = list;
                list = next;
            }

            while (ordered is not null)
            {
                var message = ordered;
                ordered = ordered.Next;
                message.Next = null;
                HandleSystemMessageSafely(message);
            }
        }
    }

    private void Invoke(Envelope envelope)
    {
        var message = envelope.Message;
        _currentMessage = message;
        _sender = envelope.Sender;
        try
        {
            switch (message)
            {
                case PoisonPill:
                    BeginTerminate();
                    return;
                case TimerScheduler.TimerMessage timerMessage:
                    if (_actor?.TimersOrNull?.TryUnwrap(timerMessage, out var timed) != true)
                    {
                        return;
                    }

                    message = timed!;
                    _currentMessage = message;
                    break;
                case Terminated terminated when !TryConsumeTerminated(terminated):
                    return;
            }

            Debug.Assert(_actor is not null, "A cell in the Normal state has an actor instance.");
            _actor.InvokeAroundReceive(message);
            if (message is not INotInfluenceReceiveTimeout)
            {
                RearmReceiveTimeout();
            }
        }
        catch (Exception exception)
        {
            Fail(exception);
        }
        finally
        {
            _sender = null;
            if (Volatile.Read(ref _state) == StateNormal)
            {
                _currentMessage = null;
            }
        }
    }

    private void DrainToDeadLetters()
    {
        while (TryDequeue(out var envelope))
        {
            _system.PublishDeadLetter(new DeadLetter(envelope.Message, envelope.Sender, this, Unhandled: false));
        }
    }
}
