using System.Text;
using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Tests.Persistence;

/// <summary>Builders for journal rows; timestamps are whole milliseconds so every store round-trips them.</summary>
internal static class JournalData
{
    public const string Manifest = "test.event.v1";

    /// <summary>Any id outside Akka's reserved range: the journal stores it without interpreting it.</summary>
    public const int SerializerId = 4711;

    public static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static string NewPersistenceId(string label) => $"{label}-{Guid.NewGuid():N}";

    public static PersistentRepresentation Event(string persistenceId, long sequenceNr, Guid? writer = null) =>
        new(persistenceId, sequenceNr, SerializerId, Manifest, Encoding.UTF8.GetBytes($"{{\"n\":{sequenceNr}}}"), (writer ?? Guid.Empty).ToString("D"), Created);

    public static AtomicWrite Write(string persistenceId, long from, long to, Guid? writer = null) =>
        new([.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(seq => Event(persistenceId, seq, writer))]);

    public static async Task<long[]> ReplaySequenceNrsAsync(
        this IJournal journal,
        string persistenceId,
        long from = 1,
        long to = long.MaxValue,
        long max = long.MaxValue)
    {
        var sequenceNrs = new List<long>();
        await foreach (var row in journal.ReplayAsync(persistenceId, from, to, max))
        {
            sequenceNrs.Add(row.SequenceNr);
        }

        return [.. sequenceNrs];
    }
}
