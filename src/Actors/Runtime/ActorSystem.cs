using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>Settings of an <see cref="ActorSystem"/>.</summary>
public sealed record ActorSystemOptions
{
    /// <summary>User messages an actor handles per turn before it yields its thread (Akka's dispatcher throughput).</summary>
    public int Throughput { get; init; } = 30;

    /// <summary>The clock for timers, receive timeouts, backoff and asks; tests inject a manual one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where the kernel logs failures and dead letters.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The default timeout of <c>Ask</c>.</summary>
    public TimeSpan DefaultAskTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A hierarchy of actors under one guardian (<c>/user</c>), with the services they share: clock,
/// logging, dead letters and extensions (journal, sharding). Akka's <c>ActorSystem</c>.
/// </summary>
public sealed partial class ActorSystem : IAsyncDisposable
{
    private readonly ActorCell _guardian;
    private readonly TaskCompletionSource _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Type, object> _extensions = new();
    private readonly ILogger _logger;
    private long _deadLetterCount;

    private ActorSystem(string name, ActorSystemOptions options)
    {
        Name = name;
        Options = options;
        _logger = options.LoggerFactory.CreateLogger("BgFetchCluster.Actors.ActorSystem");
        DeadLetters = new DeadLettersRef(this);
        _guardian = new ActorCell(this, Props.Create(static () => new GuardianActor()), null, "user");
        _guardian.SendSystemMessage(new Create());
    }

    /// <summary>The system's name, used in logs.</summary>
    public string Name { get; }

    /// <summary>The options the system was created with.</summary>
    public ActorSystemOptions Options { get; }

    /// <summary>The clock of every timer in the system.</summary>
    public TimeProvider TimeProvider => Options.TimeProvider;

    /// <summary>Where logs go; extensions make their loggers here.</summary>
    public ILoggerFactory LoggerFactory => Options.LoggerFactory;

    /// <summary>The reference that receives undeliverable messages.</summary>
    public IActorRef DeadLetters { get; }

    /// <summary>How many dead letters (and unhandled messages) have been published.</summary>
    public long DeadLetterCount => Interlocked.Read(ref _deadLetterCount);

    /// <summary>Completes when the guardian and every actor under it have stopped.</summary>
    public Task WhenTerminated => _terminated.Task;

    internal int Throughput => Options.Throughput;

    /// <summary>Raised for every dead letter, on the thread that produced it; keep handlers quick.</summary>
    public event Action<DeadLetter>? DeadLetterPublished;

    /// <summary>Creates and starts a system.</summary>
    public static ActorSystem Create(string name, ActorSystemOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new ActorSystem(name, options ?? new ActorSystemOptions());
    }

    /// <summary>Starts a top-level actor under <c>/user</c>; callable from any thread.</summary>
    public IActorRef ActorOf(Props props, string? name = null) => _guardian.ActorOf(props, name);

    /// <summary>A top-level actor whose mailbox holds <paramref name="firstMessages"/> before it starts.</summary>
    internal IActorRef ActorOf(Props props, string? name, IEnumerable<(object Message, IActorRef? Sender)> firstMessages) =>
        _guardian.ActorOf(props, name, firstMessages);

    /// <summary>Stops an actor (after the message it is handling) and its children.</summary>
    public void Stop(IActorRef actor) => _guardian.Stop(actor);

    /// <summary>The extension of type <typeparamref name="T"/>, created once by <paramref name="factory"/>.</summary>
    public T GetOrAddExtension<T>(Func<ActorSystem, T> factory)
        where T : class => (T)_extensions.GetOrAdd(typeof(T), static (_, state) => state.factory(state.system), (factory, system: this));

    /// <summary>The registered extension of type <typeparamref name="T"/>, or null.</summary>
    public T? GetExtension<T>()
        where T : class => _extensions.TryGetValue(typeof(T), out var extension) ? (T)extension : null;

    /// <summary>
    /// Stops every actor, children before parents; messages still queued go to dead letters. Then
    /// disposes extensions (the journal flushes its last batch there). Completes when all is stopped.
    /// </summary>
    public async Task TerminateAsync()
    {
        _guardian.SendSystemMessage(new Terminate());
        await WhenTerminated.ConfigureAwait(false);
        foreach (var extension in _extensions.Values)
        {
            if (extension is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
            else if (extension is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }

        _extensions.Clear();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(TerminateAsync());

    /// <inheritdoc />
    public override string ToString() => $"ActorSystem({Name})";

    internal void PublishDeadLetter(DeadLetter deadLetter)
    {
        Interlocked.Increment(ref _deadLetterCount);
        LogDeadLetter(deadLetter);
        DeadLetterPublished?.Invoke(deadLetter);
    }

    internal void OnGuardianTerminated() => _terminated.TrySetResult();

    /// <summary>Runs <paramref name="action"/> once after <paramref name="delay"/> on the system's clock.</summary>
    internal void ScheduleOnce(TimeSpan delay, Action action)
    {
        var holder = new StrongBox<ITimer?>();
        holder.Value = TimeProvider.CreateTimer(
            static state =>
            {
                var (box, callback) = ((StrongBox<ITimer?>, Action))state!;
                box.Value?.Dispose();
                callback();
            },
            (holder, action),
            delay,
            Timeout.InfiniteTimeSpan);
    }

    private sealed class StrongBox<T>
    {
        public T? Value;
    }

    private sealed class GuardianActor : ActorBase;

    /// <summary>Publishes whatever it receives as a dead letter.</summary>
    private sealed class DeadLettersRef(ActorSystem system) : InternalActorRef
    {
        public override string Path => "/deadLetters";

        public override void Tell(object message, IActorRef? sender)
        {
            if (message is not DeadLetter)
            {
                system.PublishDeadLetter(new DeadLetter(message, sender, this, Unhandled: false));
            }
        }

        internal override void SendSystemMessage(SystemMessage message)
        {
            // A watch on dead letters answers at once: it is never alive.
            if (message is Watch watch)
            {
                watch.Watcher.SendSystemMessage(new DeathWatchNotification(this));
            }
        }
    }
}
