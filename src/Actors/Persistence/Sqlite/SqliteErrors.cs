using Microsoft.Data.Sqlite;

namespace BgFetchCluster.Actors.Persistence.Sqlite;

/// <summary>The one place where SQLite errors become journal errors (docs/contributing.md rule 7).</summary>
internal static class SqliteErrors
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;

    /// <summary>
    /// The journal error for a failed insert of <paramref name="row"/>, or null when the error is not
    /// a collision on UNIQUE(persistence_id, sequence_nr) and must propagate unchanged.
    /// </summary>
    public static JournalConcurrencyException? Translate(SqliteException exception, PersistentRepresentation row)
    {
        // The journal's only unique keys are (persistence_id, sequence_nr) and the autoincrement
        // ordering, which cannot collide; so any unique violation on insert is a forked history.
        var isKeyViolation = exception.SqliteErrorCode == SqliteConstraint
            && exception.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey;
        return isKeyViolation ? new JournalConcurrencyException(row.PersistenceId, row.SequenceNr, exception) : null;
    }
}
