using Akka.Actor;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// One request of a registration. The download runs as a task that reports to the parent with
/// messages, so the mailbox never blocks and a stop (abort, passivation, shutdown) always gets
/// through: <see cref="PostStop"/> cancels the task.
/// </summary>
internal sealed class RecordActor : UntypedActor
{
    private readonly RecordWork _work;
    private readonly FetchEnvironment _environment;
    private readonly CancellationTokenSource _cancellation = new();

    public RecordActor(RecordWork work, FetchEnvironment environment)
    {
        _work = work;
        _environment = environment;
    }

    public static Props Props(RecordWork work, FetchEnvironment environment) =>
        Akka.Actor.Props.CreateBy(new DirectProducer<RecordActor>(() => new RecordActor(work, environment)));

    /// <summary>The record takes no messages: everything it learns goes to its parent from the download task.</summary>
    protected override void OnReceive(object message) => Unhandled(message);

    protected override void PreStart()
    {
        var parent = Context.Parent;
        var work = _work;
        var environment = _environment;
        var token = _cancellation.Token;
        _ = Task.Run(() => RecordDownload.RunAsync(work, environment, parent, token), CancellationToken.None);
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        _cancellation.Dispose();
    }
}
