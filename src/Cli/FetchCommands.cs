using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BgFetchCluster.Client;
using BgFetchCluster.Messages.Fetch;
using BgFetchCluster.Messages.Fetch.Api;
using Spectre.Console;

namespace BgFetchCluster.Cli;

/// <summary>
/// The <c>fetch</c> palette: <c>list</c> (every scope, admin API), and <c>show</c>, <c>records</c>, <c>create</c>,
/// <c>watch</c>, <c>abort</c>, <c>release</c>, <c>body</c> in the key's (or <c>--scope</c>'s) scope.
/// </summary>
internal static class FetchCommands
{
    /// <summary>Exit code of <c>watch</c> when the registration fails.</summary>
    public const int FailedExitCode = 1;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var fetch = new Command("fetch", "Background fetch registrations");
        var id = new Argument<string>("id") { Description = "The registration's id" };

        var list = new Command("list", "Active registrations of every scope (or of --scope), with an admin key");
        list.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var rows = await context.Admin.GetRegistrationsAsync(parse.GetValue(BgFetchCli.Scope), cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.Writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, IReadOnlyList<JsonElement>> { ["registrations"] = rows }, CliJsonContext.Default.DictionaryStringIReadOnlyListJsonElement));
                return 0;
            }

            var table = new Table().AddColumns("Scope", "Id", "Downloaded", "Requests", "Created");
            foreach (var row in rows)
            {
                table.AddRow(
                    Markup.Escape(Text(row, "scope")),
                    Markup.Escape(Text(row, "id")),
                    Progress(Number(row, "downloaded"), Number(row, "downloadTotal")),
                    Number(row, "requestCount").ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(Text(row, "createdAt")));
            }

            context.Console.Write(table);
            context.Writer.WriteLine($"{rows.Count} active registration(s)");
            return 0;
        })(parse, token));
        fetch.Subcommands.Add(list);

        var show = new Command("show", "One registration") { Arguments = { id } };
        show.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await GetAsync(context, parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            WriteRegistration(context, registration.View);
            return 0;
        })(parse, token));
        fetch.Subcommands.Add(show);

        var records = new Command("records", "The records of one registration") { Arguments = { id } };
        records.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await GetAsync(context, parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            var all = await registration.MatchAllAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new RecordsBody([.. all.Select(static r => r.View)]), ApiJsonContext.Default.RecordsBody);
                return 0;
            }

            var table = new Table().AddColumns("#", "Method", "URL", "State", "Status", "Size");
            foreach (var record in all.Select(static r => r.View))
            {
                table.AddRow(
                    record.Index.ToString(CultureInfo.InvariantCulture),
                    record.Request.Method,
                    Markup.Escape(record.Request.Url),
                    SpecName(record.State),
                    record.Response?.Status.ToString(CultureInfo.InvariantCulture) ?? "",
                    record.Response?.Size.ToString(CultureInfo.InvariantCulture) ?? "");
            }

            context.Console.Write(table);
            return 0;
        })(parse, token));
        fetch.Subcommands.Add(records);

        var urls = new Argument<string[]>("url") { Description = "The URLs to fetch", Arity = ArgumentArity.OneOrMore };
        var title = new Option<string?>("--title") { Description = "The registration's title" };
        var downloadTotal = new Option<long>("--download-total") { Description = "Expected bytes; more fails the fetch (0: no limit)" };
        var create = new Command("create", "Registers a fetch") { Arguments = { id, urls }, Options = { title, downloadTotal } };
        create.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await context.Manager.FetchAsync(
                parse.GetValue(id)!,
                parse.GetValue(urls)!.Select(BackgroundFetchRequest.FromString),
                new BackgroundFetchOptions(parse.GetValue(title), null, parse.GetValue(downloadTotal)),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            WriteRegistration(context, registration.View);
            return 0;
        })(parse, token));
        fetch.Subcommands.Add(create);

        var watch = new Command("watch", "Follows a registration until it settles; exit code 0 on success, 1 on failure") { Arguments = { id } };
        watch.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await GetAsync(context, parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            var view = context.Json
                ? await WatchJsonAsync(context, registration, cancellationToken).ConfigureAwait(false)
                : await WatchBarsAsync(context, registration, cancellationToken).ConfigureAwait(false);
            return view.Result == BackgroundFetchResult.Success ? 0 : FailedExitCode;
        })(parse, token));
        fetch.Subcommands.Add(watch);

        var abort = new Command("abort", "Aborts a registration") { Arguments = { id } };
        abort.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await GetAsync(context, parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            var aborted = await registration.AbortAsync(cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["id"] = registration.Id, ["aborted"] = aborted });
            }
            else
            {
                context.Writer.WriteLine(aborted ? $"{registration.Id}: aborted" : $"{registration.Id}: had already settled");
            }

            return 0;
        })(parse, token));
        fetch.Subcommands.Add(abort);

        var release = new Command("release", "Releases the records (aborting the registration if active) and forgets it") { Arguments = { id } };
        release.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await GetAsync(context, parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            await registration.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["id"] = registration.Id, ["released"] = true });
            }
            else
            {
                context.Writer.WriteLine($"{registration.Id}: released");
            }

            return 0;
        })(parse, token));
        fetch.Subcommands.Add(release);

        var index = new Argument<int>("index") { Description = "The record's index (request order, from 0)" };
        var file = new Option<FileInfo>("--output-file", "-o") { Description = "Where to write the body", Required = true };
        var body = new Command("body", "Writes a record's stored response body to a file") { Arguments = { id, index }, Options = { file } };
        body.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var registration = await GetAsync(context, parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            var number = parse.GetValue(index);
            var record = (await registration.MatchAllAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.View.Index == number)
                ?? throw new BackgroundFetchException("NotFoundError", 404, $"'{registration.Id}' has no record {number}.");
            using var response = await record.ResponseReadyAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var target = parse.GetValue(file)!;
            long written;
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var destination = target.Create();
                await using (destination.ConfigureAwait(false))
                {
                    await stream.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
                    written = destination.Length;
                }
            }

            var status = response.Headers.TryGetValues("X-BgFetch-Status", out var values) ? values.FirstOrDefault() : null;
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["id"] = registration.Id, ["index"] = number, ["file"] = target.FullName, ["bytes"] = written, ["status"] = status });
            }
            else
            {
                context.Writer.WriteLine($"{written} bytes (status {status}) written to {target.FullName}");
            }

            return 0;
        })(parse, token));
        fetch.Subcommands.Add(body);
        return fetch;
    }

    private static async Task<BackgroundFetchRegistration> GetAsync(CliContext context, string id, CancellationToken cancellationToken) =>
        await context.Manager.GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new BackgroundFetchException("NotFoundError", 404, $"No registration '{id}' in this scope.");

    private static async Task<RegistrationView> WatchJsonAsync(CliContext context, BackgroundFetchRegistration registration, CancellationToken cancellationToken)
    {
        var view = registration.View;
        await foreach (var progress in registration.WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            view = progress.Registration;
            var row = JsonSerializer.SerializeToNode(view, ApiJsonContext.Default.RegistrationView)!.AsObject();
            context.WriteJson(new JsonObject { ["event"] = progress.EventType, ["registration"] = row });
            context.Writer.Flush();
        }

        return view;
    }

    private static async Task<RegistrationView> WatchBarsAsync(CliContext context, BackgroundFetchRegistration registration, CancellationToken cancellationToken)
    {
        var view = registration.View;
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async progress =>
            {
                var total = view.DownloadTotal > 0 ? view.DownloadTotal : Math.Max(1, view.Downloaded);
                var bar = progress.AddTask(Markup.Escape(view.Id), maxValue: total);
                bar.Value = view.Downloaded;
                await foreach (var update in registration.WatchAsync(cancellationToken).ConfigureAwait(false))
                {
                    view = update.Registration;
                    if (view.DownloadTotal <= 0)
                    {
                        // Without a downloadTotal the size is unknown: the bar follows what has arrived.
                        bar.MaxValue = Math.Max(1, view.Downloaded) * (update.IsTerminal ? 1 : 2);
                    }

                    bar.Value = view.Downloaded;
                    if (update.IsTerminal)
                    {
                        bar.Value = bar.MaxValue;
                        bar.StopTask();
                    }
                }
            }).ConfigureAwait(false);

        var outcome = view.Result == BackgroundFetchResult.Success ? "success" : $"failure ({SpecName(view.FailureReason)})";
        context.Writer.WriteLine($"{view.Id}: {outcome}, {view.Downloaded} bytes downloaded");
        return view;
    }

    private static void WriteRegistration(CliContext context, RegistrationView view)
    {
        if (context.Json)
        {
            context.WriteJson(view, ApiJsonContext.Default.RegistrationView);
            return;
        }

        var grid = new Grid().AddColumn().AddColumn();
        void Row(string name, string value) => grid.AddRow(name, Markup.Escape(value));
        Row("id", view.Id);
        Row("title", view.Title);
        Row("result", SpecName(view.Result) is { Length: > 0 } result ? result : "(active)");
        Row("failureReason", SpecName(view.FailureReason));
        Row("downloaded", $"{view.Downloaded} / {view.DownloadTotal}");
        Row("uploaded", $"{view.Uploaded} / {view.UploadTotal}");
        Row("requests", view.RequestCount.ToString(CultureInfo.InvariantCulture));
        Row("recordsAvailable", view.RecordsAvailable ? "true" : "false");
        Row("createdAt", view.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        Row("settledAt", view.SettledAt?.ToString("O", CultureInfo.InvariantCulture) ?? "");
        context.Console.Write(grid);
    }

    private static string SpecName<T>(T value) => JsonSerializer.SerializeToElement(value, SpecNames.For<T>()).GetString() ?? "";

    private static string Text(JsonElement row, string name) => row.TryGetProperty(name, out var value) ? value.ToString() : "";

    private static long Number(JsonElement row, string name) => row.TryGetProperty(name, out var value) && value.TryGetInt64(out var number) ? number : 0;

    private static string Progress(long done, long total) =>
        total > 0 ? string.Create(CultureInfo.InvariantCulture, $"{done} / {total}") : done.ToString(CultureInfo.InvariantCulture);

    private static class SpecNames
    {
        public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> For<T>() =>
            (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ApiJsonContext.Default.GetTypeInfo(typeof(T))!;
    }
}
