using BgFetchCluster.Node.Health;

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls(builder.Configuration["urls"] ?? builder.Configuration["ASPNETCORE_URLS"] ?? "http://127.0.0.1:5080");
builder.Services.AddProblemDetails();

var app = builder.Build();
app.MapHealthApi();
app.Run();

/// <summary>The node's entry point; public so integration tests can host it.</summary>
public partial class Program;
