using BgFetchCluster.Node.Api;
using BgFetchCluster.Node.Configuration;
using BgFetchCluster.Node.Dashboard;
using BgFetchCluster.Node.Health;
using BgFetchCluster.Node.Telemetry;

var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

builder.AddBgFetchNode();
builder.AddBgFetchTelemetry();
builder.Services.AddSingleton<Scopes>();
builder.Services.AddBgFetchOpenApi();

var app = builder.Build();
app.UseNodeHeader();
app.UseUnavailableCounter();
app.UseExceptionHandler();

// Unmatched routes (404), wrong methods (405) and failed bindings answer with a problem body too.
app.UseStatusCodePages();
app.UseRequestTimeouts();
app.MapOpenApi();
app.MapHealthApi();
app.MapRegistrationsApi();
app.MapAdminApi();
app.MapDashboard();
app.MapMetrics();
app.Run();

/// <summary>The node's entry point; public so integration tests can host it.</summary>
public partial class Program;
