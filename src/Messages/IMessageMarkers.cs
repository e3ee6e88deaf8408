namespace BgFetchCluster.Messages;

/// <summary>A message that asks an entity to change its state; it may be refused.</summary>
public interface ICommand;

/// <summary>A message that asks an entity for its state and changes nothing.</summary>
public interface IQuery;

/// <summary>A fact an entity has persisted; replayed in order to rebuild its state.</summary>
public interface IEvent;

/// <summary>A message addressed to one sharded entity, carrying the id the region routes on.</summary>
public interface IEntityMessage
{
    /// <summary>The entity's id, stable for the entity's lifetime; the shard is derived from it.</summary>
    string EntityId { get; }
}
