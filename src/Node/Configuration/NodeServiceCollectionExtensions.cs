using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Actors.Persistence;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Api;
using BgFetchCluster.Node.Memory;
using Microsoft.AspNetCore.Http.Timeouts;

namespace BgFetchCluster.Node.Configuration;

/// <summary>Registers the node's services from configuration.</summary>
public static class NodeServiceCollectionExtensions
{
    /// <summary>Binds and validates <c>BgFetch</c>, and adds the fetch node as a hosted service.</summary>
    public static WebApplicationBuilder AddBgFetchNode(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.AddCommaSeparatedLists<BgFetchSettings>(BgFetchSettings.SectionName);
        var settings = builder.Configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>() ?? new BgFetchSettings();
        var isDevelopment = builder.Environment.IsDevelopment();
        settings.Validate(isDevelopment);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(settings.Memory);
        builder.Services.AddHostedService<IdleMemoryTrimmer>();
        builder.Services.AddSingleton(TimeProvider.System);
        var nodeOptions = settings.ToNodeOptions(isDevelopment);
        builder.Services.AddSingleton(nodeOptions);
        // One per node, shared by the body store (FetchNode) and the journal and snapshot plugins (through Akka.DependencyInjection).
        builder.Services.AddSingleton<StoreHealth>();
        builder.Services.AddSingleton(services => new FetchNode(
            nodeOptions, services.GetRequiredService<ILoggerFactory>(), services.GetRequiredService<TimeProvider>(), services.GetRequiredService<StoreHealth>()));
        builder.Services.AddSingleton<FetchNodeHost>();
        builder.Services.AddBgFetchAkka(settings, builder.Configuration);
        builder.Services.AddProblemDetails(static options => options.CustomizeProblemDetails = Problems.AddName);
        builder.Services.AddExceptionHandler(static options =>
        {
            options.StatusCodeSelector = Problems.StatusFor;

            // A store that is away (503) or a body released mid-read (404) is an answer, not a fault of the node: the
            // stores log the outage once (BgFetchCluster.Persistence 600/602), not every request that met it.
            options.SuppressDiagnosticsCallback = static context => Problems.StatusFor(context.Exception) is StatusCodes.Status503ServiceUnavailable or StatusCodes.Status404NotFound;
        });

        // An API call that waits for the cluster longer than BgFetch:Http:RequestTimeout (a store outage, a shard that
        // moves) answers 503 UnavailableError with Retry-After instead of hanging (docs/api.md, "Errors every call may answer").
        builder.Services.AddRequestTimeouts(options => options.AddPolicy(Problems.RequestTimeoutPolicy, new RequestTimeoutPolicy
        {
            Timeout = settings.Http.RequestTimeout,
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
            WriteTimeoutResponse = context => Problems
                .Unavailable(
                    context,
                    $"The cluster did not answer within {settings.Http.RequestTimeout.TotalSeconds} s (BgFetch:Http:RequestTimeout); nothing was changed by this call.",
                    Problems.UnavailableReason.Timeout)
                .ExecuteAsync(context),
        }));
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        return builder;
    }
}
