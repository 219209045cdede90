using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// Issue 12: a team's own handlers, added with <c>AddDurableJobs().AddHandler&lt;T&gt;("type")</c>, run in the real engine,
/// created from a dependency-injection scope per attempt, with typed payloads bound and validated before they run.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class HandlerActivationTests(EmulatorFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly ScopeLedger ledger = new();
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    public async Task InitializeAsync() =>
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, "scopes" + Guid.NewGuid().ToString("N")[..12], new ProbeJobHandler(), jobs: jobs =>
        {
            jobs.Services.AddSingleton(ledger);
            jobs.Services.AddScoped<AttemptServices>();
            jobs.AddHandler<FlakyScopedHandler>("flaky-scoped");
        });

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_handler_with_an_injected_scoped_service_gets_a_new_scope_per_attempt_and_every_scope_is_disposed()
    {
        // Three jobs whose first attempt fails: six attempts, so six scopes, each disposed after its attempt.
        BatchRequest request = Batch(Enumerable.Range(0, 3).Select(i => Job("flaky-scoped", new { label = $"job{i}" })), new RetrySpec { MaxAttempts = 2, FirstRetryDelaySeconds = 0.05 });
        (BatchView view, JobPage jobs) = await RunToEndAsync(request);

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.All(jobs.Items, j => Assert.Equal((JobStatus.Succeeded, 2), (j.Status, j.Attempts)));
        List<ScopeUse> uses = ledger.Uses.ToList();
        Assert.Equal(6, uses.Count);
        Assert.Equal(6, uses.Select(u => u.ScopeId).Distinct().Count());
        Assert.All(uses, u => Assert.True(u.Disposed, $"the scope of {u.JobId} attempt {u.Attempt} was not disposed"));
        foreach (IGrouping<string, ScopeUse> job in uses.GroupBy(u => u.JobId))
        {
            Assert.Equal([1, 2], job.Select(u => u.Attempt).Order());
        }

        // The typed output is what the second attempt's scope returned.
        foreach (JobResult job in jobs.Items)
        {
            Guid reported = job.Output!.Value.GetProperty("scopeId").GetGuid();
            Assert.Equal(uses.Single(u => u.JobId == job.Id && u.Attempt == 2).ScopeId, reported);
            Assert.StartsWith("job", job.Output.Value.GetProperty("label").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_typed_payload_that_does_not_bind_is_refused_at_submission_naming_the_field_and_nothing_starts()
    {
        BatchRequest request = Batch(
            [
                Job("flaky-scoped", new { label = "fine" }, "fine"),
                Job("flaky-scoped", new { label = 7 }, "wrong-type"),
                Job("flaky-scoped", new { label = "x", lable = "typo" }, "unknown-field"),
                Job("flaky-scoped", new { label = "" }, "fails-validation"),
            ],
            new RetrySpec { MaxAttempts = 3, FirstRetryDelaySeconds = 0.05 });
        SubmitOutcome outcome = await Client.SubmitAsync(request);

        Assert.False(outcome.Accepted);
        Assert.Null(outcome.BatchId);
        Dictionary<string, string> problems = outcome.Validation.Problems.ToDictionary(p => p.Path, p => p.Message);
        Assert.Equal(["jobs[1].payload.label", "jobs[2].payload.lable", "jobs[3].payload.label"], problems.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("could not be mapped", problems["jobs[2].payload.lable"], StringComparison.Ordinal);
        Assert.Empty(ledger.Uses);
    }

    private static BatchRequest Batch(IEnumerable<JobSpec> jobs, RetrySpec retry) => new()
    {
        Jobs = jobs.ToList(),
        MaxParallel = 3,
        DeadlineSeconds = 120,
        Retry = retry,
    };

    private static JobSpec Job(string type, object payload, string? id = null) => new()
    {
        Id = id,
        Type = type,
        Payload = JsonSerializer.SerializeToElement(payload),
    };

    private async Task<(BatchView View, JobPage Jobs)> RunToEndAsync(BatchRequest request)
    {
        string id = (await Client.SubmitAsync(request)).BatchId!;
        BatchView view = await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), $"batch {id} finished");
        return (view, (await Client.GetJobsAsync(id, top: 1_000))!);
    }

    public sealed record FlakyPayload([property: Required, MinLength(1)] string Label);

    public sealed record FlakyResult(Guid ScopeId, string Label);

    /// <summary>A scoped service, as a <c>DbContext</c> would be: one per attempt, disposed after it.</summary>
    public sealed class AttemptServices(ScopeLedger ledger) : IDisposable
    {
        public Guid ScopeId { get; } = Guid.NewGuid();

        public ScopeUse Use(JobContext context) => ledger.Add(new ScopeUse(context.JobId, context.Attempt, ScopeId));

        public void Dispose() => ledger.Disposed(ScopeId);
    }

    /// <summary>Fails each job's first attempt; succeeds on the second, reporting the scope it ran in.</summary>
    public sealed class FlakyScopedHandler(AttemptServices services) : IJobHandler<FlakyPayload, FlakyResult>
    {
        public ValueTask<FlakyResult> ExecuteAsync(JobContext context, FlakyPayload payload, CancellationToken cancellationToken)
        {
            services.Use(context);
            return context.Attempt == 1
                ? throw new InvalidOperationException("first attempts fail")
                : ValueTask.FromResult(new FlakyResult(services.ScopeId, payload.Label));
        }
    }

    public sealed class ScopeUse(string jobId, int attempt, Guid scopeId)
    {
        public string JobId { get; } = jobId;

        public int Attempt { get; } = attempt;

        public Guid ScopeId { get; } = scopeId;

        public bool Disposed { get; set; }
    }

    public sealed class ScopeLedger
    {
        private readonly ConcurrentDictionary<Guid, ScopeUse> uses = new();

        public IEnumerable<ScopeUse> Uses => uses.Values;

        public ScopeUse Add(ScopeUse use) => uses[use.ScopeId] = use;

        public void Disposed(Guid scopeId)
        {
            if (uses.TryGetValue(scopeId, out ScopeUse? use))
            {
                use.Disposed = true;
            }
        }
    }
}
