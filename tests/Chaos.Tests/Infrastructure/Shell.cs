using System.Diagnostics;

namespace BgFetchCluster.Chaos.Tests.Infrastructure;

/// <summary>Runs the system tools the suite drives (ip, runuser, pg_ctl); a tool that fails fails the caller loudly.</summary>
public static class Shell
{
    /// <summary>Runs <paramref name="file"/> and returns its standard output; throws with its output when it exits non-zero.</summary>
    public static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var (exitCode, output, error) = await TryRunAsync(file, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', arguments)}` exited with {exitCode}: {error.Trim()} {output.Trim()}");
        }

        return output;
    }

    /// <summary>Runs <paramref name="file"/> and returns its exit code and output, whatever the exit code.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> TryRunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{file} {string.Join(' ', arguments)}` did not end within 2 minutes.");
        }

        return (process.ExitCode, await output, await error);
    }
}
