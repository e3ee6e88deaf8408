using System.Collections.Concurrent;
using System.Net;

namespace BgFetchCluster.Chaos.Tests.Workload;

/// <summary>Every answer the nodes gave the workload and the checker: what was asked, of which node, and the status.</summary>
public sealed class ResponseLog
{
    private readonly ConcurrentQueue<(string What, int Slot, HttpStatusCode Status, DateTime At)> _answers = new();

    /// <summary>Records one answer.</summary>
    public void Add(string what, int slot, HttpStatusCode status) => _answers.Enqueue((what, slot, status, DateTime.UtcNow));

    /// <summary>Answers with this status.</summary>
    public int Count(HttpStatusCode status) => _answers.Count(a => a.Status == status);

    /// <summary>Every 5xx other than 503, which is the one server error the contract allows (docs/api.md, "Errors every call may answer").</summary>
    public IReadOnlyList<string> ForbiddenServerErrors() =>
        [.. _answers.Where(static a => (int)a.Status >= 500 && a.Status != HttpStatusCode.ServiceUnavailable)
            .Select(static a => $"{(int)a.Status} from node {a.Slot} to {a.What} at {a.At:HH:mm:ss.fff}")];
}
