using Azure.Data.Tables;
using DurableJobs.Engine.Storage;

namespace DurableJobs.Engine.Tests;

/// <summary>Azure Table's entity limits, which Azurite does not enforce, measured by the service's formula.</summary>
public sealed class TableEntityLimitsTests
{
    [Fact]
    public void SizeOf_CountsKeysNamesAndStringsAsUtf16_PlusTheFixedOverheads()
    {
        // 4 + (1 + 7) × 2 for the keys; 8 + 3 × 2 + 4 + 10 × 2 for the property.
        var row = new TableEntity("b", "0000000") { ["r00"] = "0123456789" };

        Assert.Equal(20 + 38, TableEntityLimits.SizeOf(row));
    }

    [Fact]
    public void TheLargestCheckpointAHandlerMaySave_FitsOneProgressRow_OneCharacterMoreWouldNot()
    {
        // The handler-side bound (JobReportLimits, in Core, which knows no Azure) is Azure's string property limit.
        Assert.Equal(TableEntityLimits.MaxStringChars, Core.Handlers.JobReportLimits.MaxCheckpointChars);
        var row = new TableEntity("batch", "p000000001") { ["Checkpoint"] = new string('x', Core.Handlers.JobReportLimits.MaxCheckpointChars) };
        Assert.Null(TableEntityLimits.Violation(row));
        row["Checkpoint"] = new string('x', Core.Handlers.JobReportLimits.MaxCheckpointChars + 1);
        Assert.NotNull(TableEntityLimits.Violation(row));
    }

    [Fact]
    public void SizeOf_IgnoresTheTimestampAndTheETag()
    {
        var row = new TableEntity("b", "0000000") { ["r00"] = "0123456789", ["Timestamp"] = DateTimeOffset.UtcNow, ["odata.etag"] = "W/\"1\"" };

        Assert.Equal(58, TableEntityLimits.SizeOf(row));
    }

    [Fact]
    public void ThirtyTwoPropertiesOf16000Characters_Fit_ThirtyThreeExceedOneMiB()
    {
        TableEntity fits = Row(32, 16_000);
        TableEntity tooLarge = Row(33, 16_000);

        Assert.Equal(8 + (32 * 32_018), TableEntityLimits.SizeOf(fits));
        Assert.Null(TableEntityLimits.Violation(fits));
        Assert.Equal(8 + (33 * 32_018), TableEntityLimits.SizeOf(tooLarge));
        Assert.Contains("1048576", TableEntityLimits.Violation(tooLarge), StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => TableEntityLimits.ThrowIfExceeded(tooLarge));
    }

    [Fact]
    public void AStringOf32768Characters_Fits_OneMoreDoesNot()
    {
        Assert.Null(TableEntityLimits.Violation(Row(1, 32_768)));
        Assert.Contains("p00 holds 32769 characters", TableEntityLimits.Violation(Row(1, 32_769)), StringComparison.Ordinal);
    }

    [Fact]
    public void TwoHundredFiftyTwoProperties_Fit_TwoHundredFiftyThreeDoNot()
    {
        Assert.Null(TableEntityLimits.Violation(Row(252, 1)));
        Assert.Contains("253 properties", TableEntityLimits.Violation(Row(253, 1)), StringComparison.Ordinal);
    }

    private static TableEntity Row(int properties, int chars)
    {
        var row = new TableEntity("p", "r");
        for (int i = 0; i < properties; i++)
        {
            row[$"p{i:D2}"] = new string('x', chars);
        }

        return row;
    }
}
