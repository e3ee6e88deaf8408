using System.Threading.Channels;
using BgFetchCluster.Actors.Runtime;
using WatchMessage = BgFetchCluster.Actors.Runtime.Watch;

namespace BgFetchCluster.TestKit;

/// <summary>
/// An actor reference that records what it receives, so a test can send messages "from" it and
/// then expect replies (Akka's <c>TestProbe</c>). Every expectation has a deadline and a failure
/// message that says what was expected.
/// </summary>
public sealed class TestProbe : InternalActorRef
{
    private readonly Channel<Envelope> _received = Channel.CreateUnbounded<Envelope>();
    private readonly TimeSpan _defaultTimeout;
    private readonly string _path;

    internal TestProbe(string name, TimeSpan defaultTimeout)
    {
        _path = "/system/testProbe-" + name;
        _defaultTimeout = defaultTimeout;
    }

    /// <summary>The sender of the last message taken by an expectation.</summary>
    public IActorRef? LastSender { get; private set; }

    /// <inheritdoc />
    public override string Path => _path;

    /// <inheritdoc />
    public override void Tell(object message, IActorRef? sender) => _received.Writer.TryWrite(new Envelope(message, sender));

    internal override void SendSystemMessage(SystemMessage message)
    {
        if (message is DeathWatchNotification notification)
        {
            Tell(new Terminated(notification.Actor), notification.Actor);
        }
    }

    /// <summary>Sends a message to <paramref name="target"/> with this probe as the sender.</summary>
    public void Send(IActorRef target, object message) => target.Tell(message, this);

    /// <summary>Replies to <see cref="LastSender"/>.</summary>
    public void Reply(object message) =>
        (LastSender ?? throw new InvalidOperationException("Reply needs a message taken by an expectation first.")).Tell(message, this);

    /// <summary>Receives <see cref="Terminated"/> when <paramref name="target"/> stops.</summary>
    public void Watch(IActorRef target)
    {
        if (target is InternalActorRef internalRef)
        {
            internalRef.SendSystemMessage(new WatchMessage(internalRef, this));
        }
    }

    /// <summary>Takes the next message, which must be a <typeparamref name="T"/> (matching <paramref name="predicate"/>).</summary>
    public async Task<T> ExpectMsgAsync<T>(Predicate<T>? predicate = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? _defaultTimeout;
        var envelope = await ReceiveOneAsync(limit).ConfigureAwait(false)
            ?? throw new TimeoutException($"{_path} expected a {typeof(T).Name}{(predicate is null ? "" : " matching the condition")} within {limit} but received nothing.");
        LastSender = envelope.Sender;
        if (envelope.Message is not T typed)
        {
            throw new InvalidOperationException($"{_path} expected a {typeof(T).Name} but received {envelope.Message.GetType().Name}: {envelope.Message}");
        }

        if (predicate is not null && !predicate(typed))
        {
            throw new InvalidOperationException($"{_path} received {typed} which does not match the expected condition.");
        }

        return typed;
    }

    /// <summary>Takes the next message, which must equal <paramref name="expected"/>.</summary>
    public async Task<T> ExpectMsgAsync<T>(T expected, TimeSpan? timeout = null)
        where T : notnull
    {
        var limit = timeout ?? _defaultTimeout;
        var envelope = await ReceiveOneAsync(limit).ConfigureAwait(false)
            ?? throw new TimeoutException($"{_path} expected {expected} within {limit} but received nothing.");
        LastSender = envelope.Sender;
        return envelope.Message is T typed && EqualityComparer<T>.Default.Equals(typed, expected)
            ? typed
            : throw new InvalidOperationException($"{_path} expected {expected} but received {envelope.Message.GetType().Name}: {envelope.Message}");
    }

    /// <summary>Takes messages until one is a <typeparamref name="T"/> matching <paramref name="predicate"/>, skipping the others.</summary>
    public async Task<T> FishForMessageAsync<T>(Predicate<T>? predicate = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? _defaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        var skipped = new List<string>();
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            var envelope = remaining > TimeSpan.Zero ? await ReceiveOneAsync(remaining).ConfigureAwait(false) : null;
            if (envelope is null)
            {
                throw new TimeoutException($"{_path} expected a {typeof(T).Name} matching the condition within {limit}; skipped [{string.Join(", ", skipped)}].");
            }

            if (envelope.Value.Message is T typed && (predicate is null || predicate(typed)))
            {
                LastSender = envelope.Value.Sender;
                return typed;
            }

            skipped.Add(envelope.Value.Message.ToString() ?? "?");
        }
    }

    /// <summary>Asserts that nothing arrives for <paramref name="duration"/> (this one necessarily waits it out).</summary>
    public async Task ExpectNoMsgAsync(TimeSpan duration)
    {
        var envelope = await ReceiveOneAsync(duration).ConfigureAwait(false);
        if (envelope is { } unexpected)
        {
            throw new InvalidOperationException($"{_path} expected no message for {duration} but received {unexpected.Message.GetType().Name}: {unexpected.Message}");
        }
    }

    /// <summary>Takes <paramref name="count"/> messages of type <typeparamref name="T"/>, in arrival order.</summary>
    public async Task<IReadOnlyList<T>> ReceiveNAsync<T>(int count, TimeSpan? timeout = null)
    {
        var result = new List<T>(count);
        for (var i = 0; i < count; i++)
        {
            result.Add(await ExpectMsgAsync<T>(timeout: timeout).ConfigureAwait(false));
        }

        return result;
    }

    private async Task<Envelope?> ReceiveOneAsync(TimeSpan timeout)
    {
        if (_received.Reader.TryRead(out var ready))
        {
            return ready;
        }

        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            return await _received.Reader.ReadAsync(cancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return null;
        }
    }
}
