using DurableJobs.Benchmarks.Cli;

return await BenchmarkCli.RunAsync(args).ConfigureAwait(false);
