using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Xunit.Abstractions;
using AkkaAtomicWrite = Akka.Persistence.AtomicWrite;
using AkkaPersistence = Akka.Persistence.Persistence;
using AkkaTestKit = Akka.TestKit.Xunit2.TestKit;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>
/// What the journal contract suites share: the journal protocol driven exactly as Akka's Persistence
/// TCK drives it (messages sent to <c>JournalFor(null)</c> from test probes) and a persistent actor.
/// </summary>
public abstract class AkkaJournalTestBase(Config config, ITestOutputHelper output)
    : AkkaTestKit(config, output: output)
{
    protected static readonly TimeSpan Timeout = AkkaPluginTestConfig.Timeout;

    protected readonly string WriterGuid = Guid.NewGuid().ToString("D");

    protected IActorRef Journal => AkkaPersistence.Instance.Apply(Sys).JournalFor(null);

    protected static string NewPersistenceId(string label) => JournalData.NewPersistenceId(label);

    protected static Persistent Event(string persistenceId, long sequenceNr, string writerGuid, object? payload = null) =>
        new(payload ?? $"a-{sequenceNr}", sequenceNr, persistenceId, string.Empty, false, ActorRefs.NoSender, writerGuid);

    /// <summary>Sends one WriteMessages of <paramref name="writes"/> from <paramref name="probe"/>, as a persistent actor does.</summary>
    protected void SendWrites(TestProbe probe, IEnumerable<AkkaAtomicWrite> writes, int actorInstanceId = 1) =>
        Journal.Tell(new WriteMessages([.. writes], probe.Ref, actorInstanceId), probe.Ref);

    /// <summary>Writes events <paramref name="from"/>..<paramref name="to"/>, one atomic write each, and awaits every acknowledgement.</summary>
    protected async Task WriteAsync(string persistenceId, long from, long to)
    {
        var probe = CreateTestProbe();
        var writes = new List<AkkaAtomicWrite>();
        for (var sequenceNr = from; sequenceNr <= to; sequenceNr++)
        {
            writes.Add(new AkkaAtomicWrite(Event(persistenceId, sequenceNr, WriterGuid)));
        }

        SendWrites(probe, writes);
        await probe.ExpectMsgAsync<WriteMessagesSuccessful>(Timeout);
        for (var sequenceNr = from; sequenceNr <= to; sequenceNr++)
        {
            var success = await probe.ExpectMsgAsync<WriteMessageSuccess>(Timeout);
            Assert.Equal(sequenceNr, success.Persistent.SequenceNr);
        }
    }

    /// <summary>Replays and returns what arrived before the final RecoverySuccess, and its highest sequence number.</summary>
    protected async Task<(List<IPersistentRepresentation> Replayed, long Highest)> ReplayAsync(
        string persistenceId,
        long from = 1,
        long to = long.MaxValue,
        long max = long.MaxValue)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(from, to, max, persistenceId, probe.Ref), probe.Ref);
        var replayed = new List<IPersistentRepresentation>();
        while (true)
        {
            var message = await probe.ReceiveOneAsync(Timeout);
            switch (message)
            {
                case ReplayedMessage m:
                    replayed.Add(m.Persistent);
                    break;
                case RecoverySuccess success:
                    return (replayed, success.HighestSequenceNr);
                default:
                    Assert.Fail($"Expected ReplayedMessage or RecoverySuccess, got {message?.ToString() ?? "nothing in time"}.");
                    break;
            }
        }
    }

    protected static long[] SequenceNrs(IEnumerable<IPersistentRepresentation> replayed) => [.. replayed.Select(p => p.SequenceNr)];

    /// <summary>Stops <paramref name="actor"/> and waits until it is gone, so its successor recovers from what it stored.</summary>
    protected async Task StopAsync(IActorRef actor)
    {
        var watcher = CreateTestProbe();
        watcher.Watch(actor);
        Sys.Stop(actor);
        await watcher.ExpectTerminatedAsync(actor, Timeout);
    }

    /// <summary>The history <see cref="JournaledCounter"/> answers to <c>get</c>.</summary>
    protected async Task<string> HistoryAsync(IActorRef actor)
    {
        actor.Tell("get", TestActor);
        return await ExpectMsgAsync<string>(Timeout);
    }
}
