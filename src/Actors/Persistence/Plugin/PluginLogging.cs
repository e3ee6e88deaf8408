using Akka.Actor;
using Akka.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>The host's <see cref="ILoggerFactory"/> for the plugins, through Akka.DependencyInjection when the system has it.</summary>
internal static class PluginLogging
{
    /// <summary>A logger of the host's factory, or a silent one in a system built without a service provider (tests).</summary>
    public static ILogger For(ActorSystem system, string category)
    {
        try
        {
            return DependencyResolver.For(system).Resolver.GetService<ILoggerFactory>()?.CreateLogger(category) ?? NullLogger.Instance;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // No ServiceProviderSetup: the system was started without Akka.Hosting.
            return NullLogger.Instance;
        }
    }
}
