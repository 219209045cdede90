using DurableJobs;
using DurableJobs.Functions;
using DurableJobs.Samples.FunctionsApp;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

FunctionsApplicationBuilder builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddDurableJobs()
    .AddHandler<InvoiceTotalHandler>("invoice-total") // this app's own job type
    .AddBuiltInHandlers()                              // delay, fail, hash, echo: for the samples/ batch files
    .AddFunctionsIntegration(builder.Configuration);   // the orchestrator, activity, HTTP and queue functions
builder.Services.AddDurableJobsFunctionsTelemetry(builder.Configuration);
builder.Build().Run();
