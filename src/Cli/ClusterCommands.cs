using System.CommandLine;
using System.Text.Json.Nodes;
using BgFetchCluster.Messages.Fetch.Api;
using Spectre.Console;

namespace BgFetchCluster.Cli;

/// <summary>The <c>cluster</c> palette: <c>show</c>, <c>leave</c>, <c>down</c>, <c>tail</c>.</summary>
internal static class ClusterCommands
{
    private static readonly TimeSpan TailInterval = TimeSpan.FromSeconds(1);

    public static Command Create(TextWriter output, TextWriter error)
    {
        var cluster = new Command("cluster", "The cluster's members (admin API)");

        var show = new Command("show", "Members with status, roles, reachability, and the leader");
        show.SetAction(BgFetchCli.Action(output, error, static async (context, cancellationToken) =>
        {
            var body = await context.Admin.GetClusterAsync(cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(body, ApiJsonContext.Default.ClusterBody);
                return 0;
            }

            var table = new Table().AddColumns("Address", "Status", "Roles", "Reachable", "Up #", "");
            foreach (var member in body.Members)
            {
                table.AddRow(
                    Markup.Escape(member.Address),
                    member.Status,
                    Markup.Escape(string.Join(',', member.Roles)),
                    member.Reachable ? "yes" : "[red]no[/]",
                    member.UpNumber.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    (member.Address == body.Leader ? "leader " : "") + (member.Address == body.Self ? "(this node)" : ""));
            }

            context.Console.Write(table);
            context.Console.WriteLine($"Leader: {body.Leader ?? "none"}");
            return 0;
        }));

        cluster.Subcommands.Add(show);
        cluster.Subcommands.Add(MemberCommand("leave", "The member leaves gracefully; its shards are handed off", output, error, static (c, a, t) => c.Admin.LeaveAsync(a, t)));
        cluster.Subcommands.Add(MemberCommand("down", "Marks the member down (only for a member known to be dead)", output, error, static (c, a, t) => c.Admin.DownAsync(a, t)));

        var tail = new Command("tail", "Prints member changes as they happen, until Ctrl+C");
        tail.SetAction(BgFetchCli.Action(output, error, static async (context, cancellationToken) =>
        {
            var known = new Dictionary<string, string>(StringComparer.Ordinal);
            try
            {
                while (true)
                {
                    var body = await context.Admin.GetClusterAsync(cancellationToken).ConfigureAwait(false);
                    var now = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var member in body.Members)
                    {
                        now[member.Address] = member.Status + (member.Reachable ? "" : " (unreachable)");
                    }

                    foreach (var (address, status) in now)
                    {
                        if (!known.TryGetValue(address, out var before) || before != status)
                        {
                            Change(context, address, before, status);
                        }
                    }

                    foreach (var (address, before) in known.Where(k => !now.ContainsKey(k.Key)).ToList())
                    {
                        Change(context, address, before, "Removed");
                    }

                    known = now;
                    await Task.Delay(TailInterval, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0;
            }
        }));
        cluster.Subcommands.Add(tail);
        return cluster;
    }

    private static void Change(CliContext context, string address, string? before, string status)
    {
        var at = DateTimeOffset.UtcNow;
        if (context.Json)
        {
            context.WriteJson(new JsonObject { ["at"] = at, ["address"] = address, ["from"] = before, ["to"] = status });
        }
        else
        {
            context.Writer.WriteLine($"{at:HH:mm:ss} {address} {before ?? "(new)"} -> {status}");
        }

        context.Writer.Flush();
    }

    private static Command MemberCommand(string name, string description, TextWriter output, TextWriter error, Func<CliContext, string, CancellationToken, Task> change)
    {
        var address = new Argument<string>("address") { Description = "The member, akka.tcp://bgfetch@host:port" };
        var command = new Command(name, description) { Arguments = { address } };
        command.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var target = parse.GetValue(address)!;
            await change(context, target, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["address"] = target, ["action"] = name, ["accepted"] = true });
            }
            else
            {
                context.Writer.WriteLine($"{name}: accepted for {target}");
            }

            return 0;
        })(parse, token));
        return command;
    }
}
