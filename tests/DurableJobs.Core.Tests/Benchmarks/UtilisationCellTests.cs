using DurableJobs.Benchmarks.Utilisation;

namespace DurableJobs.Core.Tests.Benchmarks;

/// <summary>How the utilisation grid sizes its cells and reads the cells named on the command line.</summary>
public sealed class UtilisationCellTests
{
    [Theory]
    [InlineData(10, 10, 15_000)]      // 1,000 jobs/s × 15 s
    [InlineData(100, 10, 1_500)]      // 100 jobs/s × 15 s
    [InlineData(1_000, 10, 150)]      // 10 jobs/s × 15 s
    [InlineData(1_000, 1_000, 15_000)]
    [InlineData(10, 100, 100_000)]    // 10,000 jobs/s would be 150,000 jobs: the batch limit caps it (10 s at the limit)
    [InlineData(10, 1_000, 100_000)]  // 100,000 jobs/s: 1 s at the limit, the most one batch can hold
    public void FullCell_Runs15SecondsAtTheLimit_WithinTheBatchLimit(int milliseconds, int cap, int jobs)
    {
        UtilisationCell cell = UtilisationCell.Full(TimeSpan.FromMilliseconds(milliseconds), cap);

        Assert.Equal(jobs, cell.Jobs);
        Assert.Equal(cap * 1000.0 / milliseconds, cell.LimitPerSecond, 9);
    }

    [Fact]
    public void Parse_ReadsDurationSlashCap_InMillisecondsOrSeconds()
    {
        IReadOnlyList<UtilisationCell> cells = UtilisationCell.Parse("10ms/10, 1s/100");

        Assert.Equal([UtilisationCell.Full(TimeSpan.FromMilliseconds(10), 10), UtilisationCell.Full(TimeSpan.FromSeconds(1), 100)], cells);
        Assert.Equal("10 ms × cap 10", cells[0].Label);
        Assert.Equal("1 s × cap 100", cells[1].Label);
    }

    [Theory]
    [InlineData("10/10")]
    [InlineData("10ms")]
    [InlineData("10ms/0")]
    [InlineData("0s/10")]
    [InlineData("fast/10")]
    public void Parse_RefusesWhatDoesNotRead(string text) =>
        Assert.Throws<FormatException>(() => UtilisationCell.Parse(text));
}
