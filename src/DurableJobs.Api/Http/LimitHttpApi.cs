using DurableJobs.Api.Parsing;
using DurableJobs.Api.Responses;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Http;

/// <summary>
/// The named limits' HTTP API (<c>/api/limits…</c>): read every limit with its live leases, or declare one. A limit
/// written here is stored in its row (the one the workers lease from), so every worker on the hub obeys it.
/// </summary>
internal sealed class LimitHttpApi(ApiOptions options, ILimitStore store, LimitCatalog catalog, TimeProvider time, ILogger<LimitHttpApi> logger)
{
    /// <summary><c>GET /api/limits</c>: configured and stored limits, with what is leased and waiting now.</summary>
    public async Task<IResult> ListAsync(CancellationToken cancellationToken) =>
        new BatchHttpApi.JsonResult(new LimitList { Items = await ReadViewsAsync(cancellationToken).ConfigureAwait(false) }, StatusCodes.Status200OK);

    /// <summary>Every limit as <c>GET /api/limits</c> shows it (the timeline samples the same views).</summary>
    public async Task<LimitView[]> ReadViewsAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<LimitRow> rows = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        foreach (LimitRow row in rows)
        {
            catalog.Declare(row.Name, row.Settings);
        }

        DateTimeOffset now = time.GetUtcNow();
        var byName = rows.ToDictionary(r => r.Name, StringComparer.Ordinal);
        LimitView[] items = catalog.Declared.Keys.Union(byName.Keys).Order(StringComparer.Ordinal).Select(name =>
        {
            byName.TryGetValue(name, out LimitRow? row);
            LimitSettings settings = row?.Settings ?? catalog.Declared[name];
            return new LimitView
            {
                Name = name,
                MaxConcurrent = settings.MaxConcurrent,
                Effective = row?.EffectiveConcurrency ?? settings.MaxConcurrent,
                RatePerSecond = settings.RatePerSecond,
                Burst = settings.RatePerSecond is null ? null : settings.EffectiveBurst,
                InUse = row?.InUse(now) ?? 0,
                WaitingWorkers = row?.Waiting(now) ?? 0,
                WaitingBatches = row?.WaitingBatches(now) ?? 0,
                Leases = row is null ? [] : row.Leases.Where(l => l.Value.ExpiresAt > now).OrderBy(l => l.Key, StringComparer.Ordinal)
                    .Select(l => new LimitLeaseView(l.Key, l.Value.Permits, l.Value.Want, l.Value.ExpiresAt)).ToArray(),
            };
        }).ToArray();
        return items;
    }

    /// <summary><c>PUT /api/limits/{name}</c> with <c>{ maxConcurrent, ratePerSecond, burst }</c>: 201 created, 200 updated, 400 naming the field.</summary>
    public async Task<IResult> SetAsync(HttpRequest request, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (BatchHttpApi.CheckContentType(request.ContentType) is { } unsupported)
        {
            return unsupported.ToResult();
        }

        (ReadOnlyMemory<byte> body, ApiError? unreadable) = await BatchHttpApi.ReadBodyAsync(request, options.MaxRequestBodyBytes, "DurableJobs:Api:MaxRequestBodyBytes", cancellationToken).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable.ToResult();
        }

        (LimitSettings? settings, ApiError? parseError) = BatchRequestParser.ParseAs<LimitSettings>(body, "a JSON object describing a limit");
        if (parseError is not null)
        {
            return parseError.ToResult();
        }

        var problems = new List<ValidationProblem>();
        if (!LimitCatalog.IsValidName(name))
        {
            problems.Add(new("name", "A limit's name is 1 to 63 letters, digits, '-', '_' and '.', not ending with '.'."));
        }

        settings ??= new LimitSettings();
        problems.AddRange(settings.Problems(string.Empty).Select(p => new ValidationProblem(p.Field, p.Message)));
        if (problems.Count > 0)
        {
            return BatchHttpApi.ValidationError(new ValidationResult(problems), "The limit is invalid.").ToResult();
        }

        bool created;
        while (true)
        {
            LimitRow? row = await store.ReadAsync(name, cancellationToken).ConfigureAwait(false);
            created = row is null;
            LimitRow next = row is null
                ? new LimitRow { Name = name, Settings = settings, Tokens = settings.EffectiveBurst, TokensAt = time.GetUtcNow() }
                : row with { Settings = settings, Tokens = Math.Min(row.Tokens, settings.EffectiveBurst), Effective = null, CutAt = null, Clean = 0 };
            if (await store.TryWriteAsync(next, cancellationToken).ConfigureAwait(false) is not null)
            {
                break;
            }
        }

        catalog.Declare(name, settings);
        logger.LogInformation(created ? "Limit {Limit} created over HTTP" : "Limit {Limit} updated over HTTP", name);
        return new BatchHttpApi.JsonResult(settings, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }
}
