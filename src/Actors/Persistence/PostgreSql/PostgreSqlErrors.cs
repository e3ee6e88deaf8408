using System.Globalization;
using System.Text.RegularExpressions;
using BgFetchCluster.Actors.Fetch.Storage;
using Npgsql;

namespace BgFetchCluster.Actors.Persistence.PostgreSql;

/// <summary>The one place where PostgreSQL errors become journal and body store errors (STYLE.md rule 7).</summary>
internal static partial class PostgreSqlErrors
{
    /// <summary>The name the journal migration gives UNIQUE(persistence_id, sequence_nr).</summary>
    public const string JournalKeyConstraint = "journal_persistence_id_sequence_nr_key";

    /// <summary>
    /// The journal error for a failed write of <paramref name="writes"/>, or null when the error is
    /// not a unique violation on the journal key and must propagate unchanged.
    /// </summary>
    public static JournalConcurrencyException? Translate(PostgresException exception, IReadOnlyList<AtomicWrite> writes)
    {
        if (exception.SqlState != PostgresErrorCodes.UniqueViolation || exception.ConstraintName != JournalKeyConstraint)
        {
            return null;
        }

        // The detail names the colliding key, but only when the connection string sets
        // Include Error Detail; otherwise the batch's first write stands in. BatchingJournal retries
        // writes one by one after a failed batch, so callers still learn their own outcome.
        var (persistenceId, sequenceNr) = KeyFromDetail(exception.Detail) ?? (writes[0].PersistenceId, writes[0].LowestSequenceNr);
        return new JournalConcurrencyException(persistenceId, sequenceNr, exception);
    }

    /// <summary>
    /// The body store error for a failed <paramref name="operation"/> on a body: a full disk (or an exhausted
    /// quota) as <see cref="ResponseStoreFailure.DiskFull"/>, a transient error (<see cref="StoreErrors.IsTransient"/>,
    /// which the store's resilience pipeline has already retried for the outage tolerance) as
    /// <see cref="ResponseStoreFailure.Unavailable"/>, anything else as <see cref="ResponseStoreFailure.IoError"/>.
    /// </summary>
    /// <remarks>
    /// An unavailable store pauses a download (RecordDownload) and answers 503 in the HTTP API; it never fails a record.
    /// </remarks>
    public static ResponseStoreException Translate(NpgsqlException exception, string registrationKey, int recordIndex, string operation)
    {
        var what = recordIndex >= 0
            ? $"record {recordIndex} of registration '{registrationKey}'"
            : $"registration '{registrationKey}'";
        if (exception is PostgresException { SqlState: PostgresErrorCodes.DiskFull })
        {
            return new ResponseStoreException(
                ResponseStoreFailure.DiskFull, registrationKey, recordIndex, $"The database is out of space: could not {operation} the body of {what}.", exception);
        }

        if (StoreErrors.IsTransient(exception))
        {
            return new ResponseStoreException(
                ResponseStoreFailure.Unavailable, registrationKey, recordIndex, $"Could not {operation} the body of {what}: the database is unavailable ({exception.Message}).", exception);
        }

        return new ResponseStoreException(
            ResponseStoreFailure.IoError, registrationKey, recordIndex, $"Could not {operation} the body of {what}: {exception.Message}", exception);
    }

    private static (string PersistenceId, long SequenceNr)? KeyFromDetail(string? detail)
    {
        var match = detail is null ? null : KeyDetail().Match(detail);
        return match is { Success: true }
            ? (match.Groups["pid"].Value, long.Parse(match.Groups["seq"].Value, CultureInfo.InvariantCulture))
            : null;
    }

    [GeneratedRegex(@"^Key \(persistence_id, sequence_nr\)=\((?<pid>.*), (?<seq>\d+)\) already exists\.$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyDetail();
}
