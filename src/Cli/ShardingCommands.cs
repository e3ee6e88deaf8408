using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using BgFetchCluster.Messages.Fetch.Api;
using Spectre.Console;

namespace BgFetchCluster.Cli;

/// <summary>The <c>cluster-sharding</c> palette: <c>regions</c>, <c>region-stats</c>, <c>shard-stats</c>.</summary>
internal static class ShardingCommands
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var sharding = new Command("cluster-sharding", "Sharded entity types, shards and entities (admin API)");

        var regions = new Command("regions", "Every sharded entity type with its shard and entity counts");
        regions.SetAction(BgFetchCli.Action(output, error, static async (context, cancellationToken) =>
        {
            var body = await context.Admin.GetShardingAsync(cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                var rows = new JsonArray();
                foreach (var region in body.Regions)
                {
                    rows.Add(new JsonObject { ["typeName"] = region.TypeName, ["shards"] = region.Shards.Count, ["entities"] = region.Entities });
                }

                context.WriteJson(new JsonObject { ["regions"] = rows });
                return 0;
            }

            var table = new Table().AddColumns("Type", "Shards", "Entities");
            foreach (var region in body.Regions)
            {
                table.AddRow(Markup.Escape(region.TypeName), Count(region.Shards.Count), Count(region.Entities));
            }

            context.Console.Write(table);
            return 0;
        }));
        sharding.Subcommands.Add(regions);

        var type = new Argument<string>("type") { Description = "The entity type (see 'regions')" };
        var regionStats = new Command("region-stats", "Shards and entities per node for one entity type") { Arguments = { type } };
        regionStats.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var region = await RegionAsync(context, parse.GetValue(type)!, cancellationToken).ConfigureAwait(false);
            var nodes = region.Shards.GroupBy(static s => s.Address).OrderBy(static g => g.Key, StringComparer.Ordinal).ToList();
            if (context.Json)
            {
                var rows = new JsonArray();
                foreach (var node in nodes)
                {
                    rows.Add(new JsonObject { ["address"] = node.Key, ["shards"] = node.Count(), ["entities"] = node.Sum(static s => s.Entities) });
                }

                context.WriteJson(new JsonObject { ["typeName"] = region.TypeName, ["nodes"] = rows });
                return 0;
            }

            var table = new Table().AddColumns("Node", "Shards", "Entities").Title(Markup.Escape(region.TypeName));
            foreach (var node in nodes)
            {
                table.AddRow(Markup.Escape(node.Key), Count(node.Count()), Count(node.Sum(static s => s.Entities)));
            }

            context.Console.Write(table);
            return 0;
        })(parse, token));
        sharding.Subcommands.Add(regionStats);

        var shardStats = new Command("shard-stats", "Every shard of one entity type: where it runs and its entities") { Arguments = { type } };
        shardStats.SetAction((parse, token) => BgFetchCli.Action(output, error, async (context, cancellationToken) =>
        {
            var region = await RegionAsync(context, parse.GetValue(type)!, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(region, ApiJsonContext.Default.RegionBody);
                return 0;
            }

            var table = new Table().AddColumns("Shard", "Node", "Entities").Title(Markup.Escape(region.TypeName));
            foreach (var shard in region.Shards)
            {
                table.AddRow(Markup.Escape(shard.ShardId), Markup.Escape(shard.Address), Count(shard.Entities));
            }

            context.Console.Write(table);
            return 0;
        })(parse, token));
        sharding.Subcommands.Add(shardStats);
        return sharding;
    }

    private static async Task<RegionBody> RegionAsync(CliContext context, string typeName, CancellationToken cancellationToken)
    {
        var body = await context.Admin.GetShardingAsync(cancellationToken).ConfigureAwait(false);
        return body.Regions.FirstOrDefault(r => string.Equals(r.TypeName, typeName, StringComparison.Ordinal))
            ?? throw new Client.BackgroundFetchException(
                "NotFoundError", 404, $"No entity type '{typeName}'; the types are {string.Join(", ", body.Regions.Select(static r => r.TypeName))}.");
    }

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);
}
