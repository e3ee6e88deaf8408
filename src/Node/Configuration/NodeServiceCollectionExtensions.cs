using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using BgFetchCluster.Node.Api;

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
        builder.Services.AddSingleton(TimeProvider.System);
        var nodeOptions = settings.ToNodeOptions(isDevelopment);
        builder.Services.AddSingleton(nodeOptions);
        builder.Services.AddSingleton(services => new FetchNode(
            nodeOptions, services.GetRequiredService<ILoggerFactory>(), services.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<FetchNodeHost>();
        builder.Services.AddBgFetchAkka(settings, builder.Configuration);
        builder.Services.AddProblemDetails(static options => options.CustomizeProblemDetails = Problems.AddName);
        builder.Services.AddExceptionHandler(static options => options.StatusCodeSelector = Problems.StatusFor);
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        return builder;
    }
}
