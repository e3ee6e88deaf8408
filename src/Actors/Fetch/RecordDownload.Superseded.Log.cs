using Microsoft.Extensions.Logging;

namespace BgFetchCluster.Actors.Fetch;

internal static partial class RecordDownload
{
    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "Record {Index} of {Registration}: a newer writer owns its body (the registration moved while this node was cut off or paused); this copy stops without settling it")]
    private static partial void LogSuperseded(ILogger logger, string registration, int index);
}
