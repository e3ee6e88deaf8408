namespace BgFetchCluster.Node.Memory;

/// <summary>What the GC holds: bytes allocated since the start, committed, and the heap after the last collection.</summary>
/// <param name="AllocatedBytes">Bytes allocated by the process since it started (<see cref="GC.GetTotalAllocatedBytes(bool)"/>).</param>
/// <param name="CommittedBytes">Memory the GC has committed, free regions included (<see cref="GCMemoryInfo.TotalCommittedBytes"/>).</param>
/// <param name="HeapBytes">The heap's size after the last collection, fragmentation included (<see cref="GCMemoryInfo.HeapSizeBytes"/>).</param>
public readonly record struct MemorySample(long AllocatedBytes, long CommittedBytes, long HeapBytes)
{
    /// <summary>The process's figures now.</summary>
    public static MemorySample Take()
    {
        var info = GC.GetGCMemoryInfo();
        return new MemorySample(GC.GetTotalAllocatedBytes(precise: false), info.TotalCommittedBytes, info.HeapSizeBytes);
    }
}
