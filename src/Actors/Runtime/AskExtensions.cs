using System.Globalization;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>An <c>Ask</c> got no reply in time.</summary>
public sealed class AskTimeoutException(string message) : TimeoutException(message);

/// <summary>Request-reply from outside an actor (Akka's <c>Ask</c>) and piping task results into mailboxes.</summary>
public static class AskExtensions
{
    private static long _nextPromiseId;

    /// <summary>
    /// Sends <paramref name="message"/> with a temporary sender and returns its reply. A
    /// <see cref="Status.Failure"/> reply throws its cause; no reply within the timeout throws
    /// <see cref="AskTimeoutException"/>; a reply of another type throws <see cref="InvalidCastException"/>.
    /// </summary>
    public static async Task<T> Ask<T>(this IActorRef target, object message, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(message);
        var system = (target as ActorCell)?.System;
        var limit = timeout ?? system?.Options.DefaultAskTimeout ?? TimeSpan.FromSeconds(10);
        var promise = new PromiseActorRef(Interlocked.Increment(ref _nextPromiseId));
        using var timeoutSource = new CancellationTokenSource(limit, system?.TimeProvider ?? TimeProvider.System);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token, cancellationToken);
        await using var registration = linked.Token.UnsafeRegister(
            static state =>
            {
                var (p, t, m, l, c) = ((PromiseActorRef, IActorRef, object, TimeSpan, CancellationToken))state!;
                if (c.IsCancellationRequested)
                {
                    p.Completion.TrySetCanceled(c);
                }
                else
                {
                    p.Completion.TrySetException(new AskTimeoutException(
                        $"Ask of {t.Path} with {m.GetType().Name} expected a reply within {l} and got none."));
                }
            },
            (promise, target, message, limit, cancellationToken)).ConfigureAwait(false);

        target.Tell(message, promise);
        var reply = await promise.Completion.Task.ConfigureAwait(false);
        return reply is T typed
            ? typed
            : throw new InvalidCastException($"Ask of {target.Path} with {message.GetType().Name} expected {typeof(T).Name} but got {reply?.GetType().Name ?? "null"}: {reply}");
    }

    /// <summary>
    /// Tells <paramref name="recipient"/> the task's result when it completes (or a <see cref="Status.Failure"/>),
    /// so an actor can start I/O without blocking its mailbox (Akka's <c>PipeTo</c>).
    /// </summary>
    public static async Task PipeTo<T>(
        this Task<T> task,
        IActorRef recipient,
        IActorRef? sender = null,
        Func<T, object>? success = null,
        Func<Exception, object>? failure = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(recipient);
        try
        {
            var result = await task.ConfigureAwait(false);
            recipient.Tell(success is null ? result! : success(result), sender);
        }
        catch (Exception exception)
        {
            recipient.Tell(failure is null ? new Status.Failure(exception) : failure(exception), sender);
        }
    }

    /// <summary>Tells <paramref name="recipient"/> a message when a result-less task completes or fails.</summary>
    public static async Task PipeTo(this Task task, IActorRef recipient, IActorRef? sender, Func<object> success, Func<Exception, object>? failure = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(recipient);
        ArgumentNullException.ThrowIfNull(success);
        try
        {
            await task.ConfigureAwait(false);
            recipient.Tell(success(), sender);
        }
        catch (Exception exception)
        {
            recipient.Tell(failure is null ? new Status.Failure(exception) : failure(exception), sender);
        }
    }

    /// <summary>The temporary sender of an ask: its first message completes the task.</summary>
    private sealed class PromiseActorRef(long id) : InternalActorRef
    {
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override string Path => "/temp/$" + id.ToString(CultureInfo.InvariantCulture);

        public override void Tell(object message, IActorRef? sender)
        {
            if (message is Status.Failure failure)
            {
                Completion.TrySetException(failure.Cause);
            }
            else
            {
                Completion.TrySetResult(message is Status.Success success ? success.Value : message);
            }
        }

        internal override void SendSystemMessage(SystemMessage message)
        {
        }
    }
}
