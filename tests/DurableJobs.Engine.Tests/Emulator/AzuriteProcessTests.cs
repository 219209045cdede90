using System.Net;
using System.Net.Sockets;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Engine.Tests.Emulator;

/// <summary>
/// Starting a private emulator. The fresh-clone CI of 2026-12-02 failed with "Azurite exited with code 1 before it was
/// ready (is port 35234 taken?)": the ports came from a bind to port 0, i.e. from the range the system also lends to
/// outgoing connections, and the error did not say what Azurite had said. In the emulator collection: it starts node,
/// and the collection's timing tests must not share the two cores with it.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class AzuriteProcessTests : IDisposable
{
    private readonly string data = Directory.CreateTempSubdirectory("durablejobs-azurite-taken-").FullName;

    [Fact]
    public void Free_port_ranges_lie_below_the_ports_the_system_lends_to_outgoing_connections_and_are_free()
    {
        int lent = AzuriteProcess.EphemeralPortsStart();
        for (int i = 0; i < 50; i++)
        {
            int first = AzuriteProcess.FindFreePortRange();
            Assert.InRange(first, AzuriteProcess.FirstChosenPort, lent - 3);
            for (int port = first; port <= first + 2; port++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            }
        }
    }

    [Fact]
    public async Task An_emulator_whose_queue_port_is_taken_fails_with_what_it_said_naming_that_port()
    {
        int first = AzuriteProcess.FindFreePortRange();
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, first + 1));
        taken.Listen();

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(() => AzuriteProcess.StartAsync(
            new AzuriteOptions { BlobPort = first, DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
            NullLogger.Instance));

        Assert.Contains("EADDRINUSE", error.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{first + 1}", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleanup.
        }
    }
}
