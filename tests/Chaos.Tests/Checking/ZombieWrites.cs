using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BgFetchCluster.Chaos.Tests.Checking;

/// <summary>A node process that a nemesis cut off or froze at <see cref="Since"/> (server time), and which never legitimately writes again.</summary>
public sealed record Victim(string Application, DateTime Since);

/// <summary>
/// The checker's rules over the audit trail (<see cref="AuditTrail"/>): no write of a stale owner landed.
/// <list type="number">
/// <item>Bodies: every chunk and length write of a record's body comes from the process that made the record's
/// latest claim (writer generation) before it. A zombie's bytes after a new owner's claim break it.</item>
/// <item>Journal: in each persistence id, the writers (Akka's writer id, one per actor incarnation) follow one
/// another and never interleave, and each writer is one process. A stale incarnation's event after its
/// successor's first breaks it.</item>
/// <item>Takeover: after a victim was cut off, once another process has written anything of a registration
/// (journal event or body claim) the victim writes nothing more of it.</item>
/// </list>
/// </summary>
public static class ZombieWrites
{
    private const string RegistrationPrefix = "registration-";

    /// <summary>Returns one finding per broken rule, each naming the offending audit rows.</summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<AuditRow> rows, IReadOnlyCollection<Victim> victims)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(victims);
        var findings = new List<string>();
        CheckBodies(rows, findings);
        CheckJournalWriters(rows, findings);
        CheckTakeovers(rows, victims, findings);
        return findings;
    }

    /// <summary>The registrations whose writes came from more than one process: the ones a fault moved.</summary>
    public static int MovedRegistrations(IReadOnlyList<AuditRow> rows) =>
        GroupByRegistration(rows).Count(static g => g.Value.Select(static r => r.Application).Distinct(StringComparer.Ordinal).Count() > 1);

    /// <summary>The body store's name of a registration entity: the SHA-256 of its UTF-16 code units (as the product's <c>RegistrationKeyHash</c>).</summary>
    public static string BodyKeyOf(string entityId)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        var bytes = new byte[entityId.Length * 2];
        for (var i = 0; i < entityId.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), entityId[i]);
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static void CheckBodies(IReadOnlyList<AuditRow> rows, List<string> findings)
    {
        var claims = new Dictionary<string, AuditRow>(StringComparer.Ordinal);
        foreach (var row in rows.Where(static r => r.Table != "journal"))
        {
            if (row.Kind == "claim")
            {
                claims[row.Stream] = row;
                continue;
            }

            if (!claims.TryGetValue(row.Stream, out var claim))
            {
                findings.Add($"body write without a claim before it: {row}");
            }
            else if (claim.Application != row.Application)
            {
                findings.Add($"zombie body write: {row} landed after {claim.Application} claimed the record ({claim})");
            }
        }
    }

    private static void CheckJournalWriters(IReadOnlyList<AuditRow> rows, List<string> findings)
    {
        foreach (var stream in rows.Where(static r => r.Kind == "event").GroupBy(static r => r.Stream, StringComparer.Ordinal))
        {
            var retired = new HashSet<string>(StringComparer.Ordinal);
            var processOf = new Dictionary<string, string>(StringComparer.Ordinal);
            AuditRow? previous = null;
            foreach (var row in stream)
            {
                var writer = row.Writer ?? string.Empty;
                if (processOf.TryGetValue(writer, out var process) && process != row.Application)
                {
                    findings.Add($"one journal writer in two processes: {row} (also {process})");
                }

                processOf[writer] = row.Application;
                if (previous is not null && previous.Writer != row.Writer)
                {
                    retired.Add(previous.Writer ?? string.Empty);
                    if (retired.Contains(writer))
                    {
                        findings.Add($"zombie journal write: {row} by a writer that {previous.Application}'s newer incarnation had already succeeded ({previous})");
                    }
                }

                previous = row;
            }
        }
    }

    private static void CheckTakeovers(IReadOnlyList<AuditRow> rows, IReadOnlyCollection<Victim> victims, List<string> findings)
    {
        foreach (var victim in victims)
        {
            foreach (var (entity, history) in GroupByRegistration(rows))
            {
                var takeover = history.FirstOrDefault(r => r.Application != victim.Application && r.At >= victim.Since);
                if (takeover is null)
                {
                    continue;
                }

                foreach (var late in history.Where(r => r.Id > takeover.Id && r.Application == victim.Application))
                {
                    findings.Add($"write of cut-off {victim.Application} after {takeover.Application} took {entity} over ({takeover}): {late}");
                }
            }
        }
    }

    /// <summary>Each registration entity's journal and body writes, in order.</summary>
    private static Dictionary<string, List<AuditRow>> GroupByRegistration(IReadOnlyList<AuditRow> rows)
    {
        var entityOfKey = rows
            .Where(static r => r.Table == "journal" && r.Stream.StartsWith(RegistrationPrefix, StringComparison.Ordinal))
            .Select(static r => r.Stream[RegistrationPrefix.Length..])
            .Distinct(StringComparer.Ordinal)
            .ToDictionary(BodyKeyOf, static e => e, StringComparer.Ordinal);
        var groups = new Dictionary<string, List<AuditRow>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            string? entity = row.Table == "journal"
                ? row.Stream.StartsWith(RegistrationPrefix, StringComparison.Ordinal) ? row.Stream[RegistrationPrefix.Length..] : null
                : entityOfKey.GetValueOrDefault(row.Stream.Split('/')[0]);
            if (entity is not null)
            {
                (groups.TryGetValue(entity, out var list) ? list : groups[entity] = []).Add(row);
            }
        }

        return groups;
    }
}
