using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// One request of a registration. The download runs as a task that reports to the parent with
/// messages, so the mailbox never blocks and a stop (abort, passivation, shutdown) always gets
/// through: <see cref="PostStop"/> cancels the task.
/// </summary>
internal sealed class RecordActor : ActorBase
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
        Runtime.Props.Create(() => new RecordActor(work, environment));

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
