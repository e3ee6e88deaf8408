using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// Direct I/O (Linux <c>O_DIRECT</c>) for large bodies: writes go from an aligned user buffer to the device,
/// without a copy into freshly allocated page-cache pages. That copy (and the reclaim and writeback behind it)
/// was the largest single cost of a large download in the profile; with direct writes the CPU only hashes.
/// </summary>
/// <remarks>
/// Direct writes need the buffer address, the file offset and the length aligned to the device's logical
/// block; <see cref="Alignment"/> (4 KiB) covers every block size in use. .NET has no option for
/// <c>O_DIRECT</c> on Unix, so it is set on an open descriptor with <c>fcntl(F_SETFL)</c>, which Linux allows
/// and which also lets a writer turn it off again for a short unaligned tail. Durability is unchanged: a
/// direct write may still sit in the device's cache, and only the checkpoint's fsync makes it durable.
/// </remarks>
internal static class DirectIo
{
    /// <summary>Alignment of buffers, offsets and lengths of direct writes.</summary>
    public const int Alignment = 4096;

    /// <summary>Size of one direct write: large enough that the device streams, small enough to keep memory flat.</summary>
    public const int ChunkSize = 1024 * 1024;

    private const int FGetFl = 3;
    private const int FSetFl = 4;

    /// <summary>Idle chunk buffers kept for the next large body; more are allocated while more bodies are large.</summary>
    private const int PooledBuffers = 8;

    // O_DIRECT differs between architectures (asm-generic 040000, arm and arm64 0200000).
    private static readonly int ODirect = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => 0,
    };

    private static readonly ConcurrentQueue<byte[]> Pool = new();
    private static int _pooled;
    private static bool _unavailable = !OperatingSystem.IsLinux() || ODirect == 0;

    /// <summary>Whether direct I/O may be tried at all on this platform.</summary>
    public static bool MayBeAvailable => !Volatile.Read(ref _unavailable);

    /// <summary>Turns <c>O_DIRECT</c> on or off for <paramref name="file"/>'s open file description; false when that failed.</summary>
    public static bool TrySet(SafeFileHandle file, bool direct)
    {
        if (Volatile.Read(ref _unavailable))
        {
            return false;
        }

        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            var fd = (int)file.DangerousGetHandle();
            var flags = Fcntl(fd, FGetFl, 0);
            if (flags < 0)
            {
                return false;
            }

            var wanted = direct ? flags | ODirect : flags & ~ODirect;
            return wanted == flags || Fcntl(fd, FSetFl, wanted) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            Volatile.Write(ref _unavailable, true);
            return false;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>A <see cref="ChunkSize"/> buffer at an <see cref="Alignment"/>-aligned address; give it back with <see cref="Return"/>.</summary>
    public static byte[] RentChunk()
    {
        if (Pool.TryDequeue(out var array))
        {
            Interlocked.Decrement(ref _pooled);
            return array;
        }

        // Pinned (never moved by the GC), so the aligned slice found now stays aligned; no unsafe code needed.
        return GC.AllocateUninitializedArray<byte>(ChunkSize + Alignment, pinned: true);
    }

    /// <summary>The aligned <see cref="ChunkSize"/> bytes of a buffer from <see cref="RentChunk"/>.</summary>
    public static Memory<byte> Aligned(byte[] chunk)
    {
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(chunk, 0).ToInt64();
        var skip = (int)((Alignment - (address % Alignment)) % Alignment);
        return chunk.AsMemory(skip, ChunkSize);
    }

    /// <summary>Returns a buffer from <see cref="RentChunk"/>; no write may still be using it.</summary>
    public static void Return(byte[] chunk)
    {
        if (Interlocked.Increment(ref _pooled) <= PooledBuffers)
        {
            Pool.Enqueue(chunk);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }

    // DllImport, not LibraryImport: every parameter is blittable, and LibraryImport would need unsafe code in this project.
    // fcntl is variadic; its third argument is an int for F_GETFL/F_SETFL, passed like a fixed one on Linux ABIs.
    [DllImport("libc", EntryPoint = "fcntl", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Fcntl(int fd, int command, int argument);
}
