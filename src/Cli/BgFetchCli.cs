using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using BgFetchCluster.Client;
using Spectre.Console;

namespace BgFetchCluster.Cli;

/// <summary>
/// The <c>bgfetch</c> command line: global options, the palettes <c>cluster</c>, <c>cluster-sharding</c> and
/// <c>fetch</c>, and the translation of the API's problems into a message and a non-zero exit code.
/// </summary>
public static class BgFetchCli
{
    /// <summary>Exit code of a call the node refused or could not answer.</summary>
    public const int ErrorExitCode = 2;

    internal static readonly Option<string> Node = new("--node")
    {
        Description = "The node's HTTP address (env BGFETCH_NODE)",
        Recursive = true,
        DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("BGFETCH_NODE") is { Length: > 0 } node ? node : "http://127.0.0.1:5080",
    };

    internal static readonly Option<string?> ApiKey = new("--api-key")
    {
        Description = "API key, or an admin key for the admin palettes (env BGFETCH_API_KEY)",
        Recursive = true,
        DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("BGFETCH_API_KEY"),
    };

    internal static readonly Option<string?> Scope = new("--scope")
    {
        Description = "The scope, when the node runs without API keys (env BGFETCH_SCOPE)",
        Recursive = true,
        DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("BGFETCH_SCOPE"),
    };

    internal static readonly Option<OutputFormat> Output = new("--output")
    {
        Description = "table (for people) or json (for scripts: JSON only)",
        Recursive = true,
        DefaultValueFactory = static _ => OutputFormat.Table,
    };

    /// <summary>Runs the tool with <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("bgfetch: operate a BgFetchCluster (members, shards, registrations) through any of its nodes.")
        {
            Options = { Node, ApiKey, Scope, Output },
        };
        root.Subcommands.Add(ClusterCommands.Create(output, error));
        root.Subcommands.Add(ShardingCommands.Create(output, error));
        root.Subcommands.Add(FetchCommands.Create(output, error));
        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A command action with the problem translation every command shares.</summary>
    internal static Func<ParseResult, CancellationToken, Task<int>> Action(TextWriter output, TextWriter error, Func<CliContext, CancellationToken, Task<int>> run) =>
        async (parse, cancellationToken) =>
        {
            using var context = new CliContext(parse, output);
            try
            {
                return await run(context, cancellationToken).ConfigureAwait(false);
            }
            catch (BackgroundFetchException problem)
            {
                return context.Problem(error, problem.Name, problem.Detail, problem.Status);
            }
            catch (HttpRequestException exception)
            {
                return context.Problem(error, "NetworkError", $"{context.NodeAddress}: {exception.Message}", 0);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return context.Problem(error, "TimeoutError", $"{context.NodeAddress} did not answer in time.", 0);
            }
            catch (IOException exception)
            {
                return context.Problem(error, "IOError", exception.Message, 0);
            }
        };
}

/// <summary>How results are printed.</summary>
public enum OutputFormat
{
    /// <summary>Tables and progress bars for people.</summary>
    Table,

    /// <summary>JSON only, one document per result.</summary>
    Json,
}

/// <summary>What one command runs with: the node's clients and the console.</summary>
internal sealed class CliContext : IDisposable
{
    private readonly HttpClient _http;

    public CliContext(ParseResult parse, TextWriter output)
    {
        var node = parse.GetValue(BgFetchCli.Node)!;
        NodeAddress = node.EndsWith('/') ? node : node + "/";
        _http = new HttpClient { BaseAddress = new Uri(NodeAddress), Timeout = Timeout.InfiniteTimeSpan };
        if (parse.GetValue(BgFetchCli.ApiKey) is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (parse.GetValue(BgFetchCli.Scope) is { Length: > 0 } scope)
        {
            _http.DefaultRequestHeaders.Add("X-BgFetch-Scope", scope);
        }

        Json = parse.GetValue(BgFetchCli.Output) == OutputFormat.Json;
        Writer = output;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, System.Console.Out) ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ReferenceEquals(output, System.Console.Out) ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = ReferenceEquals(output, System.Console.Out) ? InteractionSupport.Detect : InteractionSupport.No,
        });
        Manager = new BackgroundFetchManager(_http);
        Admin = new BackgroundFetchAdmin(_http);
    }

    public string NodeAddress { get; }

    public bool Json { get; }

    public TextWriter Writer { get; }

    public IAnsiConsole Console { get; }

    public BackgroundFetchManager Manager { get; }

    public BackgroundFetchAdmin Admin { get; }

    public HttpClient Http => _http;

    /// <summary>Writes one JSON document on its own line.</summary>
    public void WriteJson(JsonNode? node) => Writer.WriteLine(node?.ToJsonString() ?? "null");

    /// <summary>Writes one JSON document on its own line.</summary>
    public void WriteJson<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo) => Writer.WriteLine(JsonSerializer.Serialize(value, typeInfo));

    /// <summary>Prints a problem (JSON on the output with <c>--output json</c>) and returns the error exit code.</summary>
    public int Problem(TextWriter error, string name, string detail, int status)
    {
        if (Json)
        {
            WriteJson(new JsonObject { ["name"] = name, ["detail"] = detail, ["status"] = status });
        }
        else
        {
            error.WriteLine($"{name}: {detail}");
        }

        return BgFetchCli.ErrorExitCode;
    }

    public void Dispose() => _http.Dispose();
}
