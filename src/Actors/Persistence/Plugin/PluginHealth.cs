using Akka.Actor;
using Akka.DependencyInjection;

namespace BgFetchCluster.Actors.Persistence.Plugin;

/// <summary>The node's <see cref="StoreHealth"/> for the plugins, through Akka.DependencyInjection when the host registered one.</summary>
internal static class PluginHealth
{
    /// <summary>The host's store health, or null in a system built without a service provider or without one (tests, tools).</summary>
    public static StoreHealth? For(ActorSystem system)
    {
        try
        {
            return DependencyResolver.For(system).Resolver.GetService<StoreHealth>();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // No ServiceProviderSetup: the system was started without Akka.Hosting.
            return null;
        }
    }
}
