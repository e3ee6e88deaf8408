using BgFetchCluster.Actors.Runtime;
using Xunit;

namespace BgFetchCluster.TestKit;

/// <summary>
/// Base class for actor tests: a fresh <see cref="ActorSystem"/> per test, probes, and assertions
/// that retry until a deadline instead of sleeping (Akka's <c>TestKit</c>).
/// </summary>
public abstract class ActorTestKit : IAsyncLifetime
{
    private int _probeCount;

    /// <summary>A system on the real clock.</summary>
    protected ActorTestKit()
        : this(new ActorSystemOptions())
    {
    }

    /// <summary>A system with the given options (for example a <see cref="ManualTimeProvider"/>).</summary>
    protected ActorTestKit(ActorSystemOptions options)
    {
        Sys = ActorSystem.Create(GetType().Name, options);
    }

    /// <summary>The system under test.</summary>
    protected ActorSystem Sys { get; }

    /// <summary>How long expectations wait by default; generous, because CI machines are slow.</summary>
    protected static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>A new probe.</summary>
    protected TestProbe CreateTestProbe(string? name = null) =>
        new(name ?? Interlocked.Increment(ref _probeCount).ToString(System.Globalization.CultureInfo.InvariantCulture), DefaultTimeout);

    /// <summary>Retries <paramref name="assertion"/> until it passes; after the deadline rethrows its last failure.</summary>
    protected static async Task AwaitAssertAsync(Action assertion, TimeSpan? duration = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        var deadline = DateTime.UtcNow + (duration ?? DefaultTimeout);
        var pause = interval ?? TimeSpan.FromMilliseconds(10);
        while (true)
        {
            try
            {
                assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(pause).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the deadline.</summary>
    protected static async Task AwaitConditionAsync(Func<bool> condition, string what, TimeSpan? duration = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = duration ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Expected {what} within {limit}, but it did not happen.");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public virtual async Task DisposeAsync() => await Sys.TerminateAsync().WaitAsync(DefaultTimeout).ConfigureAwait(false);
}
