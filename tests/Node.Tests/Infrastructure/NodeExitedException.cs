namespace BgFetchCluster.Node.Tests.Infrastructure;

/// <summary>
/// A node process ended by itself before it answered <c>/ready</c>: for example a node the Split Brain Resolver downed
/// while it was joining, which exits as every downed node does (docs/architecture.md, "Failure model").
/// </summary>
public sealed class NodeExitedException : InvalidOperationException
{
    /// <summary>Creates the exception for a process that exited with <paramref name="exitCode"/> and wrote <paramref name="output"/>.</summary>
    public NodeExitedException(int exitCode, string output)
        : base($"The node exited with {exitCode} before it was ready:\n{output}")
    {
        ExitCode = exitCode;
        Output = output;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public NodeExitedException(string message)
        : base(message)
    {
        Output = string.Empty;
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public NodeExitedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Output = string.Empty;
    }

    /// <summary>Creates the exception without a message.</summary>
    public NodeExitedException()
    {
        Output = string.Empty;
    }

    /// <summary>The process's exit code.</summary>
    public int ExitCode { get; }

    /// <summary>What the process wrote.</summary>
    public string Output { get; }
}
