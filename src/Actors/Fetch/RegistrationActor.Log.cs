using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Fetch;

/// <summary>What operators see of a registration's own housekeeping.</summary>
public sealed partial class RegistrationActor
{
    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "The history of released {PersistenceId} could not be deleted; it is tried again when the entity next starts")]
    private static partial void LogHistoryNotDeleted(ILogger logger, string persistenceId, Exception exception);
}
