namespace BgFetchCluster.Actors.Fetch;

/// <summary>What a resume needs to know and the exceptions that steer retries.</summary>
internal static partial class RecordDownload
{
    /// <summary>The stored offset and the validators of the response being resumed; touched by one task only.</summary>
    private sealed class ResumeState(RecordWork work)
    {
        public long StoredBytes { get; set; } = work.StoredBytes;

        public bool HasResponse { get; private set; } = work.HasResponse;

        public int Status { get; private set; } = work.Status;

        public string? ETag { get; private set; } = work.ETag;

        public string? LastModified { get; private set; } = work.LastModified;

        public long? TotalLength { get; private set; } = work.TotalLength;

        public long Uploaded { get; set; }

        /// <summary>True once the stored prefix turned out to be missing and the record started again from byte 0.</summary>
        public bool PrefixLost { get; private set; }

        /// <summary>The stored prefix is gone: the next attempt asks for the whole body, as a fresh record would.</summary>
        public void ForgetPrefix()
        {
            PrefixLost = true;
            StoredBytes = 0;
        }

        public void Reset(HttpResponseMessage response)
        {
            StoredBytes = 0;
            HasResponse = true;
            Status = (int)response.StatusCode;
            ETag = response.Headers.ETag?.ToString();
            LastModified = response.Content.Headers.LastModified?.ToString("R");
            TotalLength = response.Content.Headers.ContentLength;
        }
    }

    /// <summary>429 or 503 on a GET: worth another attempt, after <see cref="RetryAfter"/> if the origin said so.</summary>
    private sealed class RetryableStatusException(int status, TimeSpan? retryAfter)
        : Exception($"The origin answered {status}.")
    {
        public int Status { get; } = status;

        public TimeSpan? RetryAfter { get; } = retryAfter;
    }

    /// <summary>A 206 that does not continue what is stored: the body cannot be trusted (fetch-error).</summary>
    private sealed class InvalidResumeException(string message) : Exception(message);
}
