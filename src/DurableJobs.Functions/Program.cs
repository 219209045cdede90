using DurableJobs.Functions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

FunctionsApplicationBuilder builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddDurableJobsFunctions(builder.Configuration);
builder.Services.AddDurableJobsFunctionsTelemetry(builder.Configuration);
builder.Build().Run();
