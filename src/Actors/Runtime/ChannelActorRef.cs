using System.Globalization;
using System.Threading.Channels;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>
/// A reference whose messages are read as an async stream: how code outside the actor world (an
/// HTTP event stream, a test) subscribes to actors. Bounded; when full, the oldest message is dropped,
/// which is safe for progress (at most once) and never blocks the sender's mailbox.
/// </summary>
public sealed class ChannelActorRef : InternalActorRef, IAsyncDisposable
{
    private static long _nextId;
    private readonly Channel<object> _channel;
    private readonly string _path;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<InternalActorRef> _watchers = [];

    /// <summary>Creates a reference buffering at most <paramref name="capacity"/> messages.</summary>
    public ChannelActorRef(int capacity = 1024)
    {
        _channel = Channel.CreateBounded<object>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _path = "/temp/channel-" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public override string Path => _path;

    /// <summary>The messages, in arrival order.</summary>
    public ChannelReader<object> Reader => _channel.Reader;

    /// <inheritdoc />
    public override void Tell(object message, IActorRef? sender) => _channel.Writer.TryWrite(message);

    internal override void SendSystemMessage(SystemMessage message)
    {
        // Watchers (a mediator) learn when the reader goes away, so subscriptions do not leak.
        if (message is Watch watch && ReferenceEquals(watch.Watchee, this))
        {
            lock (_watchers)
            {
                if (!_stopped.Task.IsCompleted)
                {
                    _watchers.Add(watch.Watcher);
                    return;
                }
            }

            watch.Watcher.SendSystemMessage(new DeathWatchNotification(this));
        }
    }

    /// <summary>Completes the stream and tells watchers this reference is gone.</summary>
    public ValueTask DisposeAsync()
    {
        InternalActorRef[] watchers;
        lock (_watchers)
        {
            if (!_stopped.TrySetResult())
            {
                return ValueTask.CompletedTask;
            }

            watchers = [.. _watchers];
            _watchers.Clear();
        }

        _channel.Writer.TryComplete();
        foreach (var watcher in watchers)
        {
            watcher.SendSystemMessage(new DeathWatchNotification(this));
        }

        return ValueTask.CompletedTask;
    }
}
