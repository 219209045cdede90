using DurableJobs.Benchmarks.Utilisation;
using DurableJobs.Core.Model;

namespace DurableJobs.Core.Tests.Benchmarks;

/// <summary>
/// The in-process peers' start and finish times: one run at a time, and a straggler of an earlier run (a Hangfire
/// worker its server stopped waiting for) not counted in the next.
/// </summary>
[Collection(nameof(InProcessSpansTests))] // the spans are process-wide
public sealed class InProcessSpansTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_job_of_a_run_that_was_taken_is_not_counted_in_the_next_run()
    {
        InProcessSpans.Take();
        int first = InProcessSpans.Run;
        InProcessSpans.Record(first, T0, T0.AddMilliseconds(10));
        Assert.Single(InProcessSpans.Take());

        int second = InProcessSpans.Run;
        InProcessSpans.Record(first, T0.AddMilliseconds(5), T0.AddMilliseconds(15)); // the straggler: before this run began
        InProcessSpans.Record(second, T0.AddSeconds(20), T0.AddSeconds(20.1));

        IReadOnlyList<JobSpan> taken = InProcessSpans.Take();
        Assert.NotEqual(first, second);
        Assert.Equal([new JobSpan(T0.AddSeconds(20), T0.AddSeconds(20.1))], taken);
    }

    [Fact]
    public void Jobs_that_name_no_run_count_in_the_current_one_and_Take_leaves_a_clean_slate()
    {
        InProcessSpans.Take();
        InProcessSpans.Record(T0, T0.AddMilliseconds(10));
        InProcessSpans.Record(T0, T0.AddMilliseconds(20));

        Assert.Equal(2, InProcessSpans.Count);
        Assert.Equal(2, InProcessSpans.Take().Count);
        Assert.Equal(0, InProcessSpans.Count);
    }
}
