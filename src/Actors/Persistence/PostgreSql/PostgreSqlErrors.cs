using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace BgFetchCluster.Actors.Persistence.PostgreSql;

/// <summary>The one place where PostgreSQL errors become journal errors (STYLE.md rule 7).</summary>
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
