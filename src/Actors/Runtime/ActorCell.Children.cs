using System.Globalization;

namespace BgFetchCluster.Actors.Runtime;

/// <summary>The children registry. <c>ActorOf</c> on the guardian comes from any thread, so it is locked.</summary>
internal sealed partial class ActorCell
{
    private Dictionary<string, ActorCell>? _children;
    private long _nextChildId;

    private bool HasChildren
    {
        get
        {
            var children = Volatile.Read(ref _children);
            if (children is null)
            {
                return false;
            }

            lock (children)
            {
                return children.Count > 0;
            }
        }
    }

    public IEnumerable<IActorRef> Children => ChildrenSnapshot();

    public IActorRef ActorOf(Props props, string? name = null) => ActorOf(props, name, firstMessages: null);

    /// <summary>
    /// Starts a child whose mailbox already holds <paramref name="firstMessages"/> when it starts: they come
    /// before anything the child sends itself in <c>PreStart</c> (a shard hands a new entity the message
    /// that started it this way).
    /// </summary>
    internal IActorRef ActorOf(Props props, string? name, IEnumerable<(object Message, IActorRef? Sender)>? firstMessages)
    {
        ArgumentNullException.ThrowIfNull(props);
        if (name is null)
        {
            name = "$" + Interlocked.Increment(ref _nextChildId).ToString("x", CultureInfo.InvariantCulture);
        }
        else if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.StartsWith('$'))
        {
            throw new ArgumentException($"Invalid actor name '{name}': it must be non-empty, contain no '/' and not start with '$'.", nameof(name));
        }

        var child = new ActorCell(_system, props, this, name);
        var children = EnsureChildren();
        lock (children)
        {
            if (!children.TryAdd(name, child))
            {
                throw new InvalidOperationException($"Actor name '{name}' is not unique among the children of {Path}.");
            }
        }

        foreach (var (message, sender) in firstMessages ?? [])
        {
            // Not scheduled: nothing runs before Create, which is processed first anyway.
            child.EnqueueWithoutScheduling(message, sender);
        }

        child.SendSystemMessage(new Create());
        if (Volatile.Read(ref _state) >= StateTerminating)
        {
            // A stopping parent takes no new children: the child starts and is stopped at once.
            child.SendSystemMessage(new Terminate());
        }

        return child;
    }

    public IActorRef? Child(string name)
    {
        var children = Volatile.Read(ref _children);
        if (children is null)
        {
            return null;
        }

        lock (children)
        {
            return children.GetValueOrDefault(name);
        }
    }

    private ActorCell[] ChildrenSnapshot()
    {
        var children = Volatile.Read(ref _children);
        if (children is null)
        {
            return [];
        }

        lock (children)
        {
            return [.. children.Values];
        }
    }

    private bool IsLiveChild(ActorCell cell)
    {
        var children = Volatile.Read(ref _children);
        if (children is null)
        {
            return false;
        }

        lock (children)
        {
            return children.TryGetValue(cell.Name, out var existing) && ReferenceEquals(existing, cell);
        }
    }

    /// <summary>Forgets a stopped child; returns whether it was one and whether none is left.</summary>
    private (bool WasChild, bool NoneLeft) RemoveChild(InternalActorRef actor)
    {
        var children = Volatile.Read(ref _children);
        if (children is null || actor is not ActorCell cell)
        {
            return (false, true);
        }

        lock (children)
        {
            var removed = children.TryGetValue(cell.Name, out var existing)
                && ReferenceEquals(existing, cell)
                && children.Remove(cell.Name);
            return (removed, children.Count == 0);
        }
    }

    private Dictionary<string, ActorCell> EnsureChildren()
    {
        var children = Volatile.Read(ref _children);
        if (children is not null)
        {
            return children;
        }

        Interlocked.CompareExchange(ref _children, new Dictionary<string, ActorCell>(StringComparer.Ordinal), null);
        return _children!;
    }
}
