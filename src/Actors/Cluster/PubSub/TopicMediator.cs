using BgFetchCluster.Actors.Runtime;

namespace BgFetchCluster.Actors.Cluster.PubSub;

/// <summary>Subscribes <see cref="Subscriber"/> to <see cref="Topic"/>; acknowledged with <see cref="SubscribeAck"/>.</summary>
public sealed record Subscribe(string Topic, IActorRef Subscriber);

/// <summary>Acknowledges a <see cref="Subscribe"/>: messages published after this reach the subscriber.</summary>
public sealed record SubscribeAck(Subscribe Subscribe);

/// <summary>Withdraws a subscription.</summary>
public sealed record Unsubscribe(string Topic, IActorRef Subscriber);

/// <summary>Sends <see cref="Message"/> to every current subscriber of <see cref="Topic"/>, at most once.</summary>
public sealed record Publish(string Topic, object Message);

/// <summary>
/// Topic publish/subscribe, with the vocabulary and at-most-once semantics of Akka's
/// <c>DistributedPubSubMediator</c>. On an embedded node it is in-process; a lost message loses
/// nothing durable, because subscribers can always read the truth from the publisher.
/// Subscribers are watched and dropped when they stop.
/// </summary>
public sealed class TopicMediator : ActorBase
{
    private readonly Dictionary<string, HashSet<IActorRef>> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, HashSet<string>> _subscriptions = [];

    /// <summary>Creates the mediator; start it with <see cref="Start"/>.</summary>
    public TopicMediator()
    {
        Receive<Subscribe>(OnSubscribe);
        Receive<Unsubscribe>(unsubscribe => Remove(unsubscribe.Topic, unsubscribe.Subscriber));
        Receive<Publish>(OnPublish);
        Receive<Terminated>(terminated => RemoveAll(terminated.ActorRef));
    }

    /// <summary>Starts the system's mediator under <c>/user/pubsub</c>.</summary>
    public static IActorRef Start(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        return system.ActorOf(Props.Create(static () => new TopicMediator()), "pubsub");
    }

    private void OnSubscribe(Subscribe subscribe)
    {
        if (!_topics.TryGetValue(subscribe.Topic, out var subscribers))
        {
            _topics[subscribe.Topic] = subscribers = [];
        }

        if (subscribers.Add(subscribe.Subscriber))
        {
            if (!_subscriptions.TryGetValue(subscribe.Subscriber, out var topics))
            {
                _subscriptions[subscribe.Subscriber] = topics = new HashSet<string>(StringComparer.Ordinal);
                Context.Watch(subscribe.Subscriber);
            }

            topics.Add(subscribe.Topic);
        }

        Sender.Tell(new SubscribeAck(subscribe), Self);
    }

    private void OnPublish(Publish publish)
    {
        if (_topics.TryGetValue(publish.Topic, out var subscribers))
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Tell(publish.Message, Sender);
            }
        }
    }

    private void Remove(string topic, IActorRef subscriber)
    {
        if (_topics.TryGetValue(topic, out var subscribers) && subscribers.Remove(subscriber) && subscribers.Count == 0)
        {
            _topics.Remove(topic);
        }

        if (_subscriptions.TryGetValue(subscriber, out var topics) && topics.Remove(topic) && topics.Count == 0)
        {
            _subscriptions.Remove(subscriber);
            Context.Unwatch(subscriber);
        }
    }

    private void RemoveAll(IActorRef subscriber)
    {
        if (_subscriptions.Remove(subscriber, out var topics))
        {
            foreach (var topic in topics)
            {
                if (_topics.TryGetValue(topic, out var subscribers) && subscribers.Remove(subscriber) && subscribers.Count == 0)
                {
                    _topics.Remove(topic);
                }
            }
        }
    }
}
