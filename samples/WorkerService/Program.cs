using DurableJobs;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Samples.WorkerService;
using System.Text.Json;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton<IGreetingStyle, PoliteGreetingStyle>();
builder.Services.AddDurableJobs()
    .AddHandler<WordCountHandler>("word-count")   // typed: IJobHandler<WordCountPayload, WordCountResult>
    .AddHandler<GreetingHandler>("greet")         // untyped, with an injected service and logger
    .UseAzurite(a => a.DataDirectory = ".azurite") // development storage; UseAzureStorage(...) in production
    .AddWorker()
    .AddClient();

using IHost host = builder.Build();
if (args is ["submit", string file])
{
    // A one-shot run (what CI does): start the worker, submit the batch from code, wait for it, print the outcome.
    await host.StartAsync();
    BatchClient client = host.Services.GetRequiredService<BatchClient>();
    BatchRequest request = JsonSerializer.Deserialize<BatchRequest>(await File.ReadAllTextAsync(file), DurableJobsJson.Options)!;
    string id = (await client.SubmitAsync(request)).BatchId!;
    BatchView view;
    while (!(view = (await client.GetAsync(id))!).IsFinished)
    {
        await Task.Delay(250);
    }

    foreach (JobResult job in (await client.GetJobsAsync(id, top: 1_000))!.Items)
    {
        Console.WriteLine($"{job.Id} {job.Status} {job.Output?.GetRawText() ?? job.Error?.Message}");
    }

    Console.WriteLine($"Batch {id} ended {view.Status}: {view.Succeeded}/{view.Total} succeeded.");
    await host.StopAsync();
    return view.Succeeded == view.Total ? 0 : 1;
}

await host.RunAsync(); // a worker: runs jobs of the task hub until stopped
return 0;
