using BgFetchCluster.Actors.Persistence;

namespace BgFetchCluster.Actors.Fetch.Storage;

/// <summary>Turns file system exceptions into <see cref="ResponseStoreException"/>s the fetch domain can act on, in one place.</summary>
internal static class DiskErrors
{
    // errno values carried in IOException.HResult on Unix, and Win32 error codes in its low word on Windows.
    private const int Enospc = 28;
    private const int EdquotLinux = 122;
    private const int EdquotMacOs = 69;
    private const int ErrorHandleDiskFull = 39;
    private const int ErrorDiskFull = 112;

    /// <summary>Whether <paramref name="exception"/> is a storage failure (rather than cancellation or a bug).</summary>
    public static bool IsStorageError(Exception exception) => exception is IOException or UnauthorizedAccessException;

    /// <summary>
    /// Translates a storage failure while trying to <paramref name="operation"/> a body: a full disk to
    /// <see cref="ResponseStoreFailure.DiskFull"/>, an error a network volume answers for now
    /// (<see cref="StoreErrors.IsTransientFileError"/>) to <see cref="ResponseStoreFailure.Unavailable"/> (retried by the
    /// store, then a paused download or a 503), anything else to <see cref="ResponseStoreFailure.IoError"/>.
    /// </summary>
    public static ResponseStoreException Translate(Exception exception, string registrationKey, int recordIndex, string operation)
    {
        var what = recordIndex >= 0
            ? $"record {recordIndex} of registration '{registrationKey}'"
            : $"registration '{registrationKey}'";
        if (IsDiskFull(exception))
        {
            return new ResponseStoreException(
                ResponseStoreFailure.DiskFull, registrationKey, recordIndex, $"The disk is full: could not {operation} the body of {what}.", exception);
        }

        return exception is IOException io && StoreErrors.IsTransientFileError(io)
            ? new ResponseStoreException(
                ResponseStoreFailure.Unavailable, registrationKey, recordIndex, $"The body volume is unavailable for now: could not {operation} the body of {what}: {exception.Message}", exception)
            : new ResponseStoreException(
                ResponseStoreFailure.IoError, registrationKey, recordIndex, $"Could not {operation} the body of {what}: {exception.Message}", exception);
    }

    /// <summary>Whether the exception reports a full disk or an exhausted disk quota.</summary>
    public static bool IsDiskFull(Exception exception)
    {
        if (exception is not IOException io)
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return (io.HResult & 0xFFFF) is ErrorHandleDiskFull or ErrorDiskFull;
        }

        return io.HResult == Enospc
            || (OperatingSystem.IsLinux() && io.HResult == EdquotLinux)
            || (OperatingSystem.IsMacOS() && io.HResult == EdquotMacOs);
    }
}
