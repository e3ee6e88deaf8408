namespace BgFetchCluster.Actors.Runtime;

/// <summary>Puts the current message aside to handle later (Akka's <c>IStash</c>).</summary>
public interface IStash
{
    /// <summary>The number of stashed messages.</summary>
    int Count { get; }

    /// <summary>Stashes the message being handled, with its sender.</summary>
    void Stash();

    /// <summary>Puts the oldest stashed message back in front of the mailbox.</summary>
    void Unstash();

    /// <summary>Puts every stashed message back in front of the mailbox, oldest first.</summary>
    void UnstashAll();
}

/// <summary>An unbounded stash; its messages survive a restart.</summary>
internal sealed class Stash(ActorCell cell) : IStash
{
    private readonly LinkedList<Envelope> _messages = new();

    public int Count => _messages.Count;

    void IStash.Stash()
    {
        var message = cell.CurrentMessage
            ?? throw new InvalidOperationException("Stash() can only be called while handling a message.");
        _messages.AddLast(new Envelope(message, cell.SenderOrNull));
    }

    public void Unstash()
    {
        if (_messages.First is { } first)
        {
            _messages.RemoveFirst();
            cell.Prepend([first.Value]);
        }
    }

    public void UnstashAll()
    {
        if (_messages.Count == 0)
        {
            return;
        }

        var all = _messages.ToArray();
        _messages.Clear();
        cell.Prepend(all);
    }
}
