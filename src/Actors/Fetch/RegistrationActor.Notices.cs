using Akka.Cluster.Tools.PublishSubscribe;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary><c>updateUI()</c>, and the notices beside progress on the registration's topic (UI changed, records released).</summary>
public sealed partial class RegistrationActor
{
    /// <summary>
    /// Background Fetch, <c>BackgroundFetchUpdateUIEvent.updateUI()</c>: a new title and/or icons, journaled so they survive
    /// a restart, and announced on the topic. The browser allows it only while a terminal event is handled; that is the
    /// client's rule (docs/api.md): the node accepts it from the scope's owner while the registration exists.
    /// </summary>
    private void OnUpdateUi(UpdateRegistrationUi update)
    {
        if (_state.Phase is not (RegistrationPhase.Active or RegistrationPhase.Settled))
        {
            Sender.Tell(new RegistrationNotFound(_entityId), Self);
            return;
        }

        var replyTo = Sender;
        Persist(new RegistrationUiUpdated(update.Title, update.Icons), updated =>
        {
            _state.Apply(updated);
            var view = _state.ToView(hideSettlement: !_settlementVisible);
            replyTo.Tell(view, Self);
            PublishNotice(new RegistrationProgress(view, Settled: false, UiUpdated: true));
        });
    }

    /// <summary>Tells the topic's subscribers that the records are gone: <c>recordsAvailable</c> is false from now on.</summary>
    private void PublishReleased() => PublishNotice(new RegistrationProgress(_state.ToView(), Settled: true, Released: true));

    private void PublishNotice(RegistrationProgress notice) =>
        _environment.Mediator.Tell(new Publish(TopicFor(_entityId), notice), Self);
}
