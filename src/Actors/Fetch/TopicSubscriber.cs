using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>
/// One event-stream subscriber: subscribes to a registration's topic through the DistributedPubSub
/// mediator, passes what is published into a channel the HTTP response reads, and is forgotten by the
/// mediator when stopped. The task given to it completes once the mediator has acknowledged, so nothing published
/// after it is missed.
/// </summary>
internal sealed class TopicSubscriber : ReceiveActor
{
    private readonly string _topic;
    private readonly IActorRef _mediator;
    private readonly ChannelWriter<RegistrationProgress> _writer;
    private readonly TaskCompletionSource _subscribed;

    public TopicSubscriber(string topic, IActorRef mediator, ChannelWriter<RegistrationProgress> writer, TaskCompletionSource subscribed)
    {
        _topic = topic;
        _mediator = mediator;
        _writer = writer;
        _subscribed = subscribed;
        Receive<SubscribeAck>(_ => _subscribed.TrySetResult());
        Receive<RegistrationProgress>(progress => _writer.TryWrite(progress));
    }

    public static Props Props(string topic, IActorRef mediator, ChannelWriter<RegistrationProgress> writer, TaskCompletionSource subscribed) =>
        Akka.Actor.Props.Create(() => new TopicSubscriber(topic, mediator, writer, subscribed));

    protected override void PreStart() => _mediator.Tell(new Subscribe(_topic, Self));

    protected override void PostStop()
    {
        // No Unsubscribe: the mediator watches its subscribers and forgets a stopped one by itself.
        _writer.TryComplete();
        _subscribed.TrySetCanceled();
    }
}
