using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// A <c>durablejobs</c> command in a pseudo-terminal, as a user runs it: util-linux <c>script</c> gives it a terminal,
/// so it draws its interactive view, and a Ctrl+C typed into that terminal reaches the whole foreground process group
/// as SIGINT, the way a key press does (a signal a test sends to one pid does not). <see cref="Screen"/> is what the
/// terminal received, with the escape sequences removed. Disposing kills the command if it still runs.
/// </summary>
public sealed partial class TerminalSession : IAsyncDisposable
{
    // Continuous-integration variables make Spectre.Console treat even a terminal as non-interactive.
    private static readonly string[] CiVariables = ["CI", "GITHUB_ACTIONS", "TF_BUILD", "GITLAB_CI", "JENKINS_URL", "TEAMCITY_VERSION", "TRAVIS", "APPVEYOR", "BUILDKITE", "BITBUCKET_BUILD_NUMBER", "bamboo_buildNumber"];

    private readonly Process process;
    private readonly StringBuilder received = new();
    private readonly Task reader;

    private TerminalSession(Process process)
    {
        this.process = process;
        reader = Task.Run(ReadAsync);
    }

    /// <summary>What the terminal showed so far, escape sequences removed and carriage returns as line breaks.</summary>
    public string Screen
    {
        get
        {
            string raw;
            lock (received)
            {
                raw = received.ToString();
            }

            return EscapeSequence().Replace(raw, string.Empty).Replace('\r', '\n');
        }
    }

    /// <summary>The raw bytes as text, escape sequences included (to tell the interactive view from plain lines).</summary>
    public string Raw
    {
        get
        {
            lock (received)
            {
                return received.ToString();
            }
        }
    }

    public bool HasExited => process.HasExited;

    /// <summary>The command's exit code (<c>script -e</c> passes it on).</summary>
    public int ExitCode => process.ExitCode;

    /// <summary>Starts <c>durablejobs ARGUMENTS</c> in a 120×40 terminal in <paramref name="workingDirectory"/>.</summary>
    public static TerminalSession Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        ProcessStartInfo command = HostProcess.StartInfo(workingDirectory, arguments, environment);
        // env --default-signal: a test run started in the background of a non-interactive shell (a CI script's `cmd &`)
        // inherits SIGINT and SIGQUIT ignored, and an ignored signal stays ignored across exec, so Ctrl+C would never
        // reach the command as it reaches it in a user's terminal.
        string line = $"stty cols 120 rows 40; exec env --default-signal=INT,QUIT {Quote(command.FileName)} {string.Join(' ', command.ArgumentList.Select(Quote))}";
        var start = new ProcessStartInfo("script")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-qfec", line, "/dev/null" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        foreach ((string key, string? value) in command.Environment)
        {
            start.Environment[key] = value;
        }

        foreach (string variable in CiVariables)
        {
            start.Environment.Remove(variable);
        }

        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        return new TerminalSession(Process.Start(start) ?? throw new InvalidOperationException("Could not start script (util-linux)."));
    }

    /// <summary>Types Ctrl+C into the terminal.</summary>
    public void PressCtrlC()
    {
        process.StandardInput.Write('\u0003');
        process.StandardInput.Flush();
    }

    /// <summary>Waits until the screen shows <paramref name="text"/>; false when it has not after <paramref name="timeout"/> or the command ended first.</summary>
    public async Task<bool> WaitForAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Screen.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (process.HasExited)
            {
                await reader;
                return Screen.Contains(text, StringComparison.Ordinal);
            }

            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>Waits for the command to exit; false when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            await reader;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The last lines of the screen that hold text, for failure messages.</summary>
    public string Tail(int count = 40) =>
        string.Join(Environment.NewLine, Screen.Split('\n').Where(l => l.Trim().Length > 0).TakeLast(count).Select(l => $"[terminal] {l.TrimEnd()}"));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        await reader.ContinueWith(_ => { }, TaskScheduler.Default);
        process.Dispose();
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private async Task ReadAsync()
    {
        // The raw stream, not lines: the interactive view redraws with carriage returns and cursor movements.
        Decoder decoder = Encoding.UTF8.GetDecoder();
        byte[] buffer = new byte[8192];
        char[] chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        Stream stream = process.StandardOutput.BaseStream;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            int count = decoder.GetChars(buffer, 0, read, chars, 0);
            lock (received)
            {
                received.Append(chars, 0, count);
            }
        }
    }

    [GeneratedRegex(@"\x1B(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1B]*(\x07|\x1B\\)|[()][0-9A-Za-z]|[=>78])")]
    private static partial Regex EscapeSequence();
}
