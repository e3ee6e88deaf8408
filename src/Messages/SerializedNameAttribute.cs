namespace BgFetchCluster.Messages;

/// <summary>
/// The stable name under which a message or event is stored and sent. It must never change once
/// released: journals written by older nodes are replayed by newer ones through this name, never
/// through the CLR type name.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SerializedNameAttribute(string name) : Attribute
{
    /// <summary>The manifest written next to the payload.</summary>
    public string Name { get; } = name;
}
