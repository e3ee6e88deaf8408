namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// The journal plugin a test's nodes run on (<c>BgFetch:Storage:Journal</c>), with the settings that select it and
/// the table a test reads its SQLite journal from: the product's plugin has <c>journal</c>, Akka.Persistence.Sql
/// (prefixed by <c>WithAkkaSqlPersistence</c>) <c>akka_journal</c>. Both name the columns a test reads alike
/// (<c>persistence_id</c>, <c>manifest</c> for the serializer's manifest, <c>deleted</c>).
/// </summary>
public sealed record StoredJournal(string Name, IReadOnlyList<string> Settings, string Table)
{
    /// <summary>The product's own plugin, the default.</summary>
    public static StoredJournal BgFetch { get; } = new("BgFetch", [], "journal");

    /// <summary>Akka.Persistence.Sql with its standard schema.</summary>
    public static StoredJournal AkkaSql { get; } = new("AkkaSql", ["--BgFetch:Storage:Journal=AkkaSql"], "akka_journal");

    /// <summary>The in-process (<see cref="NodeFactory"/>) form of <see cref="Settings"/>.</summary>
    public NodeFactory Configure(NodeFactory factory) =>
        Name == "BgFetch" ? factory : factory.With("BgFetch:Storage:Journal", Name);

    /// <inheritdoc />
    public override string ToString() => Name;
}
