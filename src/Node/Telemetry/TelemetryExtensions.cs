using BgFetchCluster.Actors.Fetch;
using BgFetchCluster.Node.Api;
using BgFetchCluster.Node.Configuration;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace BgFetchCluster.Node.Telemetry;

/// <summary>
/// OpenTelemetry for the node: the <see cref="FetchMetrics"/> meter and activity source, ASP.NET Core and
/// HttpClient instrumentation; <c>/metrics</c> for Prometheus (<c>BgFetch:Telemetry:Prometheus</c>) and OTLP
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (docs/api.md, "Configuration").
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>The OpenTelemetry service name of a node.</summary>
    public const string ServiceName = "bgfetch";

    /// <summary>Adds metrics (and, with an OTLP endpoint, traces) with the configured exporters.</summary>
    public static WebApplicationBuilder AddBgFetchTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var settings = Settings(builder.Configuration);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!settings.Prometheus && !otlp)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(static resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(FetchMetrics.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (settings.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });

        if (otlp)
        {
            // Traces only go somewhere with OTLP: without an exporter every request would start activities for nothing.
            telemetry
                .WithTracing(static tracing => tracing.AddSource(FetchMetrics.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation())
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Maps <c>/metrics</c> when <c>BgFetch:Telemetry:Prometheus</c> is true (the default).</summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (Settings(app.Configuration).Prometheus)
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }

        return app;
    }

    /// <summary>
    /// Counts every 503 of the <c>/v1/</c> API in <see cref="FetchMetrics.HttpUnavailable"/> when its headers go out,
    /// whoever wrote it (a handler, the request-timeout policy, the exception handler), by the reason the writer left
    /// (<see cref="Problems.UnavailableReason"/>; <c>timeout</c> when none did).
    /// </summary>
    public static IApplicationBuilder UseUnavailableCounter(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
            {
                context.Response.OnStarting(() =>
                {
                    if (context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable)
                    {
                        var reason = context.Items[Problems.UnavailableReason.ItemKey] as string ?? Problems.UnavailableReason.Timeout;
                        FetchMetrics.HttpUnavailable.Add(1, new KeyValuePair<string, object?>("reason", reason));
                    }

                    return Task.CompletedTask;
                });
            }

            return next(context);
        });
    }

    private static TelemetrySettings Settings(IConfiguration configuration) =>
        configuration.GetSection($"{BgFetchSettings.SectionName}:Telemetry").Get<TelemetrySettings>() ?? new TelemetrySettings();
}
