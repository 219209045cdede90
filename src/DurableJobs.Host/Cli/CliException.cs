namespace DurableJobs.Host.Cli;

/// <summary>A problem the user can fix: printed as one clear line, no stack trace.</summary>
internal sealed class CliException(string message) : Exception(message);
