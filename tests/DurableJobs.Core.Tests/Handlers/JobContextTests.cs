using System.Text.Json;
using DurableJobs.Core.Handlers;

namespace DurableJobs.Core.Tests.Handlers;

/// <summary>What <see cref="JobContext"/> refuses before anything reaches storage, naming the field.</summary>
public sealed class JobContextTests
{
    [Fact]
    public void ProgressMessageOf501Characters_ThrowsNamingMessage_AndReportsNothing()
    {
        var reporter = new CountingReporter();
        var context = new JobContext("b", "j", 1) { Reporter = reporter };

        ArgumentException ex = Assert.Throws<ArgumentException>(() => context.ReportProgress(50, new string('x', 501)));

        Assert.Equal("message", ex.ParamName);
        Assert.Contains("501 characters; at most 500", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, reporter.Reports);
        context.ReportProgress(50, new string('x', 500));
        Assert.Equal(1, reporter.Reports);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ProgressValueNotFinite_ThrowsNamingValue_AndReportsNothing(double value)
    {
        var reporter = new CountingReporter();
        var context = new JobContext("b", "j", 1) { Reporter = reporter };

        ArgumentOutOfRangeException ex = Assert.Throws<ArgumentOutOfRangeException>(() => context.ReportProgress(value));

        Assert.Equal("value", ex.ParamName);
        Assert.Equal(0, reporter.Reports);
    }

    [Fact]
    public async Task CheckpointOf32769StoredCharacters_ThrowsNamingCheckpoint_AndSavesNothing_32768AreSaved()
    {
        var reporter = new CountingReporter();
        var context = new JobContext("b", "j", 1) { Reporter = reporter };
        JsonElement tooLarge = JsonSerializer.SerializeToElement(new string('a', 32_769 - 2)); // the quotes are stored too
        JsonElement fits = JsonSerializer.SerializeToElement(new string('a', 32_768 - 2));

        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(async () => await context.SaveCheckpointAsync(tooLarge));
        Assert.Equal("checkpoint", ex.ParamName);
        Assert.Equal(0, reporter.Checkpoints);

        await context.SaveCheckpointAsync(fits);
        Assert.Equal(1, reporter.Checkpoints);
    }

    [Fact]
    public async Task CheckpointCountedAsStored_NonAsciiEscapedToSixCharacters_6000JapaneseCharactersAreRefused()
    {
        // 6,000 characters, but 36,002 as the serializer stores them (\uXXXX each): over Azure's 32 Ki per property.
        var context = new JobContext("b", "j", 1);
        JsonElement japanese = JsonSerializer.SerializeToElement(new string('日', 6_000));

        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(async () => await context.SaveCheckpointAsync(japanese));
        Assert.Equal("checkpoint", ex.ParamName);
    }

    private sealed class CountingReporter : IJobAttemptReporter
    {
        public int Reports { get; private set; }

        public int Checkpoints { get; private set; }

        public void ReportProgress(double value, string? message) => Reports++;

        public void Heartbeat()
        {
        }

        public ValueTask SaveCheckpointAsync(string json, JsonElement checkpoint, CancellationToken cancellationToken)
        {
            Checkpoints++;
            return ValueTask.CompletedTask;
        }
    }
}
