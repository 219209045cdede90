using System.Globalization;
using System.Text;

namespace DurableJobs.Core.Validation;

/// <summary>
/// Request text as a message may quote it. Messages travel into answers, poison-queue reasons and log lines, where a
/// raw newline or escape sequence would forge a line or repaint a terminal, and a megabyte of type name would be a
/// megabyte per line; so the text is escaped and cut.
/// </summary>
internal static class DisplayText
{
    /// <summary>
    /// <paramref name="text"/> in single quotes: printable ASCII as is, every other character (and the quote and the
    /// backslash) as <c>\uXXXX</c>, at most <paramref name="maxLength"/> characters of it followed by its full length.
    /// </summary>
    public static string Quote(string text, int maxLength = 100)
    {
        int kept = Math.Min(text.Length, maxLength);
        var quoted = new StringBuilder(kept + 24).Append('\'');
        foreach (char c in text.AsSpan(0, kept))
        {
            if (c is >= ' ' and <= '~' and not '\\' and not '\'')
            {
                quoted.Append(c);
            }
            else
            {
                quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
        }

        return kept == text.Length
            ? quoted.Append('\'').ToString()
            : quoted.Append(CultureInfo.InvariantCulture, $"…' ({text.Length} characters)").ToString();
    }
}
