using BgFetchCluster.Messages;
using BgFetchCluster.Messages.Fetch;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>The lifecycle phase of a registration entity.</summary>
internal enum RegistrationPhase
{
    /// <summary>No <see cref="FetchRegistered"/> yet.</summary>
    Empty,

    /// <summary>Records are being fetched.</summary>
    Active,

    /// <summary>Result and failure reason are final; records are readable.</summary>
    Settled,

    /// <summary>Records released, bodies deleted: the registration is gone.</summary>
    Released,
}

/// <summary>One record's durable and live state.</summary>
internal sealed class RecordData(FetchRequest request)
{
    public FetchRequest Request { get; } = request;

    public RecordState State { get; set; } = RecordState.Pending;

    public RecordResponseReceived? Response { get; set; }

    /// <summary>Bytes stored as last reported (live); never below the last durable checkpoint.</summary>
    public long StoredBytes { get; set; }

    /// <summary>Bytes stored at the last journaled checkpoint: where a restart resumes.</summary>
    public long CheckpointBytes { get; set; }

    public long Uploaded { get; set; }

    public string? Sha256 { get; set; }

    public string? Error { get; set; }

    /// <summary>The body, when it was journaled with the settlement instead of stored as a file.</summary>
    public byte[]? InlineBody { get; set; }
}

/// <summary>
/// The event-sourced state of one registration: the same <see cref="Apply"/> runs on replay and after
/// each persist, so a recovered registration is exactly the one that was running.
/// </summary>
/// <remarks>
/// <code>
///   Empty ──FetchRegistered──▶ Active ──RegistrationSettled──▶ Settled ──RecordsReleased──▶ Released
///     │                           │ record events (response, checkpoint, restart, settled)
///     │                           └─────────────┘
///     │                 RegistrationUiUpdated (title, icons) in Active or Settled: no phase change
///     └──────────────────── history deleted after a release (MarkHistoryDeleted) ─────────────▶ Released
/// </code>
/// </remarks>
internal sealed class RegistrationState
{
    public RegistrationPhase Phase { get; private set; } = RegistrationPhase.Empty;

    public FetchRegistered? Definition { get; private set; }

    public RecordData[] Records { get; private set; } = [];

    public BackgroundFetchResult Result { get; private set; }

    public BackgroundFetchFailureReason FailureReason { get; private set; }

    public DateTimeOffset? SettledAt { get; private set; }

    /// <summary>The title shown: the creation's, until <c>updateUI()</c> changes it.</summary>
    public string Title { get; private set; } = "";

    /// <summary>The icons shown: the creation's, until <c>updateUI()</c> changes them.</summary>
    public IReadOnlyList<IconView> Icons { get; private set; } = [];

    public long Downloaded => Records.Sum(static r => r.StoredBytes);

    public long Uploaded => Records.Sum(static r => r.Uploaded);

    public bool AllRecordsSettled => Records.All(static r => r.State.IsSettled());

    public void Apply(IEvent @event)
    {
        switch (@event)
        {
            case FetchRegistered registered:
                Transition(RegistrationPhase.Empty, RegistrationPhase.Active);
                Definition = registered;
                Title = registered.Title;
                Icons = registered.Icons;
                Records = [.. registered.Requests.Select(static r => new RecordData(r))];
                break;
            case RecordResponseReceived response when IsOpen(response.Index):
                var withResponse = Records[response.Index];
                withResponse.Response = response;
                withResponse.State = RecordState.Fetching;
                break;
            case RecordCheckpointed checkpoint when IsOpen(checkpoint.Index):
                var record = Records[checkpoint.Index];
                record.CheckpointBytes = checkpoint.StoredBytes;
                record.StoredBytes = Math.Max(record.StoredBytes, checkpoint.StoredBytes);
                record.Uploaded = checkpoint.UploadedBytes;
                break;
            case RecordRestarted restarted when IsOpen(restarted.Index):
                Records[restarted.Index].CheckpointBytes = 0;
                Records[restarted.Index].StoredBytes = 0;
                break;
            case RecordSettled settled when IsOpen(settled.Index):
                var done = Records[settled.Index];
                done.State = settled.State;
                done.StoredBytes = settled.Size;
                done.CheckpointBytes = settled.Size;
                done.Sha256 = settled.Sha256;
                done.Error = settled.Error;
                done.InlineBody = settled.Body;
                if (done.Response is not null)
                {
                    done.Uploaded = done.Request.BodyLength;
                }

                break;
            case RegistrationSettled settled:
                Transition(RegistrationPhase.Active, RegistrationPhase.Settled);
                Result = settled.Result;
                FailureReason = settled.FailureReason;
                SettledAt = settled.SettledAt;
                break;
            case RegistrationUiUpdated ui when Phase is RegistrationPhase.Active or RegistrationPhase.Settled:
                Title = ui.Title ?? Title;
                Icons = ui.Icons ?? Icons;
                break;
            case RegistrationResumed:
                // Changes no state: it only takes a sequence number away from stale copies (RegistrationActor).
                break;
            case RecordsReleased:
                Transition(RegistrationPhase.Settled, RegistrationPhase.Released);
                break;
        }
    }

    /// <summary>
    /// Recovery found no events but a sequence number: a released registration's history was deleted (with any
    /// inline bodies in it), and only its highest sequence number remains. The registration is gone.
    /// </summary>
    public void MarkHistoryDeleted() => Transition(RegistrationPhase.Empty, RegistrationPhase.Released);

    /// <summary>
    /// The natural settlement once every record has settled: success when all succeeded, otherwise the
    /// reason of the lowest failing index (Background Fetch, "complete a record").
    /// </summary>
    /// <remarks>
    /// With <paramref name="settling"/> the outcome is computed as if those records had already settled with
    /// those states: the last records' settlements and the registration's are then written together.
    /// </remarks>
    public (BackgroundFetchResult Result, BackgroundFetchFailureReason Reason) Outcome(IReadOnlyDictionary<int, RecordSettled>? settling = null)
    {
        for (var i = 0; i < Records.Length; i++)
        {
            var recordState = settling is not null && settling.TryGetValue(i, out var settled) ? settled.State : Records[i].State;
            if (recordState != RecordState.Success)
            {
                return (BackgroundFetchResult.Failure, recordState.ToFailureReason());
            }
        }

        return (BackgroundFetchResult.Success, BackgroundFetchFailureReason.None);
    }

    /// <summary>Whether every record outside <paramref name="settling"/> has settled.</summary>
    public bool AllSettledBesides(IReadOnlyDictionary<int, RecordSettled> settling)
    {
        for (var i = 0; i < Records.Length; i++)
        {
            if (!Records[i].State.IsSettled() && !settling.ContainsKey(i))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The registration as clients see it. With <paramref name="hideSettlement"/> a settled registration
    /// still shows as active: settlement becomes visible only once its id is free in the scope index.
    /// </summary>
    public RegistrationView ToView(bool hideSettlement = false)
    {
        var definition = Definition ?? throw new InvalidOperationException("An empty registration has no view.");
        if (hideSettlement && Phase == RegistrationPhase.Settled)
        {
            return new RegistrationView(
                definition.Id, definition.UploadTotal, Uploaded, definition.DownloadTotal, Downloaded,
                BackgroundFetchResult.None, BackgroundFetchFailureReason.None, RecordsAvailable: true,
                Title, Icons, Records.Length, definition.CreatedAt, SettledAt: null);
        }

        return new RegistrationView(
            definition.Id,
            definition.UploadTotal,
            Uploaded,
            definition.DownloadTotal,
            Downloaded,
            Result,
            FailureReason,
            RecordsAvailable: Phase is RegistrationPhase.Active or RegistrationPhase.Settled,
            Title,
            Icons,
            Records.Length,
            definition.CreatedAt,
            SettledAt);
    }

    public RecordView ToRecordView(int index)
    {
        var record = Records[index];
        var request = new RequestView(record.Request.Url, record.Request.Method, record.Request.Headers);
        ResponseView? response = null;
        if (record.Response is { } received)
        {
            var bodyUrl = $"/v1/registrations/{Uri.EscapeDataString(Definition!.Id)}/records/{index}/body";
            response = new ResponseView(received.Status, received.StatusText, received.Url, received.Headers, record.StoredBytes, record.Sha256, bodyUrl);
        }

        return new RecordView(index, request, record.State, response);
    }

    private bool IsOpen(int index) =>
        Phase == RegistrationPhase.Active && (uint)index < (uint)Records.Length && !Records[index].State.IsSettled();

    private void Transition(RegistrationPhase from, RegistrationPhase to)
    {
        if (Phase != from)
        {
            throw new InvalidOperationException($"A registration cannot move from {Phase} to {to}; only from {from}.");
        }

        Phase = to;
    }
}
