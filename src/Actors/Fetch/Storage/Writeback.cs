using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>
/// Starts the device writing a range of a file that was just appended, without waiting for it (Linux
/// <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>), so the disk works while the download goes on and the
/// next checkpoint's fsync only waits for the tail. A hint only: durability still comes from that fsync.
/// </summary>
/// <remarks>
/// Without it, the page cache holds everything since the last checkpoint (the kernel's own background
/// writeback starts at a tenth of memory) and each fsync writes it all while the download stands still:
/// download time plus disk time instead of the larger of the two.
/// </remarks>
internal static class Writeback
{
    /// <summary>How much has to be appended before the next range is handed to the device.</summary>
    public const long Granularity = 1024 * 1024;

    private const uint SyncFileRangeWrite = 2;

    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Asks the kernel to start writing [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>); never throws.</summary>
    public static void Start(SafeFileHandle file, long offset, long count)
    {
        if (_unavailable || count <= 0)
        {
            return;
        }

        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            _ = SyncFileRange((int)file.DangerousGetHandle(), offset, count, SyncFileRangeWrite);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc/musl on Linux: a hint we can live without.
            _unavailable = true;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    // DllImport, not LibraryImport: every parameter is blittable, and LibraryImport would need unsafe code in this project.
    [DllImport("libc", EntryPoint = "sync_file_range", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SyncFileRange(int fd, long offset, long nbytes, uint flags);
}
