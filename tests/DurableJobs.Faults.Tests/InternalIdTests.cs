using System.Net;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// Ids the service derives from a batch id (the instance ids of a large batch's parts, the storage names of its jobs,
/// results and cancel signal) against users who pick the same names for their own batches.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class InternalIdTests(EmulatorFixture storage, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task User_batches_named_like_another_batchs_parts_run_as_their_own_in_either_order_and_ids_naming_internal_instances_or_other_batchs_storage_are_refused()
    {
        const int jobs = 30;
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsInternalIds", output, new Dictionary<string, string>
        {
            // Parts of 10 jobs: each 30-job batch runs as three parts (sub-orchestrations).
            ["DurableJobs__Client__MaxJobsPerOrchestration"] = "10",
        });
        try
        {
            await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);

            // The batch first, then at once user batches named the way its later parts used to be (the reported loss).
            await client.SubmitAsync(BatchApi.Batch("ids-a", 5, jobs, "delay", """{"ms":300}"""));
            await client.SubmitAsync(BatchApi.Batch("ids-a-part-0001", 1, 1, "echo", """{"n":1}"""));
            await client.SubmitAsync(BatchApi.Batch("ids-a-part-0002", 1, 1, "echo", """{"n":2}"""));

            // A user batch first, still running when the next batch's first part needs that name; that batch is then
            // cancelled, and the cancel must stay inside it.
            await client.SubmitAsync(BatchApi.Batch("ids-b-part-0000", 1, 1, "delay", """{"ms":20000}"""));
            await client.SubmitAsync(BatchApi.Batch("ids-b", 2, jobs, "delay", """{"ms":2000}"""));

            JsonElement? a = await FinishedOrLastAsync(client, "ids-a");
            using HttpResponseMessage cancel = await client.CancelAsync("ids-b", "test");
            JsonElement? b = await FinishedOrLastAsync(client, "ids-b");
            var users = new Dictionary<string, JsonElement?>(StringComparer.Ordinal);
            foreach (string id in new[] { "ids-a-part-0001", "ids-a-part-0002", "ids-b-part-0000" })
            {
                users[id] = await FinishedOrLastAsync(client, id);
            }

            // Every instance id the service created that is not a submitted batch id is internal: try to submit,
            // read and cancel each as a user would.
            string[] submitted = ["ids-a", "ids-b", .. users.Keys];
            List<string> internalIds = (await PartitionKeysAsync(cluster.HubName + "Instances")).Except(submitted, StringComparer.Ordinal).ToList();
            var attempts = new List<(string Id, HttpStatusCode Post, string? Code, string Answer, HttpStatusCode Get, HttpStatusCode Cancel)>();
            foreach (string id in internalIds)
            {
                (HttpStatusCode post, JsonElement answer) = await client.PostAsync(BatchApi.Batch(id, 1, 1, "echo", "{}"));
                using HttpResponseMessage get = await client.Http.GetAsync($"/api/batches/{Uri.EscapeDataString(id)}");
                using HttpResponseMessage cancelIt = await client.CancelAsync(id);
                string? code = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("code", out JsonElement c) ? c.GetString() : null;
                attempts.Add((id, post, code, answer.ToString(), get.StatusCode, cancelIt.StatusCode));
            }

            // Batch ids that would name another batch's storage: blob paths are {batchId}/..., a client resolves "."
            // and ".." segments, and Azure Storage drops a segment's trailing dot ("ids-a." would store under "ids-a/").
            var storageAttempts = new List<(string Id, HttpStatusCode Post, string Answer)>();
            foreach (string id in new[] { "ids-a.", ".", ".." })
            {
                (HttpStatusCode post, JsonElement answer) = await client.PostAsync(BatchApi.Batch(id, 1, 1, "echo", "{}"));
                storageAttempts.Add((id, post, answer.ToString()));
            }

            // Storage names derived from batch ids stay inside their batch's own names.
            List<string> storageNames = [
                .. (await BlobNamesAsync(cluster.HubName.ToLowerInvariant() + "-batches")).Select(n => n.Split('/')[0]),
                .. await PartitionKeysAsync(cluster.HubName + "Results"),
                .. await PartitionKeysAsync(cluster.HubName + "Signals")];
            // The batch list's index is the service's own partition of the results table, named with '~', which no id can hold.
            List<string> strayStorage = storageNames.Distinct(StringComparer.Ordinal).Except(submitted, StringComparer.Ordinal).Where(n => n != "~batches").ToList();

            Figures.Report(output, "internal-ids", $"ids-a: {Describe(a)}; ids-b (cancelled: {(int)cancel.StatusCode}): {Describe(b)}; " + string.Join("; ", users.Select(u => $"{u.Key}: {Describe(u.Value)}")));
            Figures.Report(output, "internal-ids", $"{internalIds.Count} internal instance ids: " + string.Join("; ", attempts.Select(t => $"{t.Id}: POST {(int)t.Post} {t.Code}, GET {(int)t.Get}, cancel {(int)t.Cancel}")) + $"; storage names outside the submitted ids: {strayStorage.Count} ({string.Join(", ", strayStorage)})");
            Figures.Report(output, "internal-ids", "batch ids naming storage of others: " + string.Join("; ", storageAttempts.Select(t => $"'{t.Id}': POST {(int)t.Post}")));

            Assert.Equal(("Completed", jobs, jobs), Counts(a));
            Assert.Equal("Cancelled", b?.GetProperty("status").GetString());
            Assert.Equal(jobs, b!.Value.GetProperty("total").GetInt32());
            Assert.All(users, u => Assert.True(Counts(u.Value) == ("Completed", 1, 1), $"{u.Key}: {Describe(u.Value)}"));

            // At least ids-a's three parts and ids-b's first part; none of them is a name a request can use.
            Assert.True(internalIds.Count >= 4, $"internal ids seen: {string.Join(", ", internalIds)}");
            Assert.All(attempts, t =>
            {
                Assert.True(t.Post == HttpStatusCode.BadRequest && t.Code == "validation-failed" && t.Answer.Contains("\"batchId\"", StringComparison.Ordinal), $"POST {t.Id}: {(int)t.Post} {t.Answer}");
                Assert.Equal(HttpStatusCode.NotFound, t.Get);
                Assert.Equal(HttpStatusCode.NotFound, t.Cancel);
            });
            Assert.All(storageAttempts, t => Assert.True(t.Post == HttpStatusCode.BadRequest && t.Answer.Contains("\"batchId\"", StringComparison.Ordinal), $"POST '{t.Id}': {(int)t.Post} {t.Answer}"));
            Assert.Empty(strayStorage);
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    /// <summary>The batch's view once finished; the last view seen (or null for 404) if it does not finish in time.</summary>
    private static async Task<JsonElement?> FinishedOrLastAsync(BatchApi client, string id)
    {
        try
        {
            return await client.WaitFinishedAsync(id, Patience);
        }
        catch (TimeoutException)
        {
            return await client.GetBatchAsync(id);
        }
    }

    private static (string? Status, int Total, int Succeeded) Counts(JsonElement? view) =>
        view is { } v ? (v.GetProperty("status").GetString(), v.GetProperty("total").GetInt32(), v.GetProperty("succeeded").GetInt32()) : (null, 0, 0);

    private static string Describe(JsonElement? view) =>
        view is { } v
            ? $"{v.GetProperty("status").GetString()} {v.GetProperty("succeeded").GetInt32()}/{v.GetProperty("total").GetInt32()} succeeded, {v.GetProperty("cancelled").GetInt32()} cancelled"
            : "404";

    private async Task<List<string>> PartitionKeysAsync(string tableName)
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (TableEntity row in new TableClient(storage.ConnectionString, tableName).QueryAsync<TableEntity>(select: ["PartitionKey"]))
            {
                keys.Add(row.PartitionKey);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No such table: nothing derived there.
        }

        return [.. keys];
    }

    private async Task<List<string>> BlobNamesAsync(string containerName)
    {
        var names = new List<string>();
        var container = new BlobContainerClient(storage.ConnectionString, containerName);
        await foreach (BlobItem blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, null, CancellationToken.None))
        {
            names.Add(blob.Name);
        }

        return names;
    }
}
