using Microsoft.Playwright;

namespace DurableJobs.Dashboard.Tests;

/// <summary>
/// Launches Debian's chromium through Playwright. Playwright's own browser download does not work on these
/// machines, so the tests never install one: with an executable path the driver just starts the given binary.
/// </summary>
public static class Chromium
{
    /// <summary>Where the browser is; <c>DURABLEJOBS_CHROMIUM</c> points elsewhere on machines without Debian's package.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("DURABLEJOBS_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        string path = ExecutablePath;
        if (!File.Exists(path))
        {
            // A missing browser is a broken test environment, not a reason to pass quietly.
            throw new InvalidOperationException(
                $"The dashboard tests need chromium at {path}. Install it with: sudo apt-get update && sudo apt-get install -y chromium " +
                "(or set DURABLEJOBS_CHROMIUM to a Chromium binary). Do not run 'playwright install': its download does not work here.");
        }

        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }
}
