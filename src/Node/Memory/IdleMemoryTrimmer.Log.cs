namespace BgFetchCluster.Node.Memory;

public sealed partial class IdleMemoryTrimmer
{
    [LoggerMessage(Level = LogLevel.Information, Message = "The node is quiet after allocating {Allocated} MiB: gave memory back to the operating system (the GC had {CommittedBefore} MiB committed; now {CommittedAfter} MiB for a heap of {HeapAfter} MiB) in a collection of {Milliseconds:F0} ms")]
    private static partial void LogTrimmed(ILogger logger, long allocated, long committedBefore, long committedAfter, long heapAfter, double milliseconds);
}
