using System.Diagnostics;

namespace DurableJobs.Testing;

/// <summary>Polls a condition until it holds or time runs out.</summary>
public static class Eventually
{
    /// <summary>Returns the first value <paramref name="probe"/> yields that satisfies <paramref name="done"/>.</summary>
    public static async Task<T> MatchAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, TimeSpan? interval = null, string? what = null)
    {
        var clock = Stopwatch.StartNew();
        T last = await probe().ConfigureAwait(false);
        while (!done(last))
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{what ?? "Condition"} not met within {timeout.TotalSeconds:0.#} s; last value: {last}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            last = await probe().ConfigureAwait(false);
        }

        return last;
    }
}
