using System.CommandLine;
using DurableJobs.Host.Cli;
using Spectre.Console;

var root = new RootCommand("durablejobs: a durable, distributed job queue on the Durable Functions engine.")
{
    RunCommand.Create(),
    ServeCommand.Create(),
    ScheduleCommands.Create(),
    LimitCommands.Create(),
};
foreach (Command command in RemoteCommands.Create())
{
    root.Subcommands.Add(command);
}

try
{
    ParseResult parse = root.Parse(args);
    return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (CliException ex)
{
    AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
    return ExitCodes.InvalidInput;
}
