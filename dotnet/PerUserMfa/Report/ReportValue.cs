using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;

namespace PerUserMfa.Report
{
    /// <summary>
    /// Tolerant conversions of input property values (already unwrapped from any PSObject) to report
    /// values: the typed values Get-PerUserMfaState writes, and the strings Import-Csv gives back
    /// ("True", "2026-11-01T10:00:00Z", "42"). Empty or unreadable values become null.
    /// </summary>
    internal static class ReportValue
    {
        public static string? ToText(object? value)
        {
            switch (value)
            {
                case null:
                    return null;
                case string s:
                    return s.Length == 0 ? null : s;
                case DateTime d:
                    return FormatDateTime(d);
                case IFormattable f:
                    return f.ToString(null, CultureInfo.InvariantCulture);
                default:
                    var text = value.ToString();
                    return string.IsNullOrEmpty(text) ? null : text;
            }
        }

        /// <summary>
        /// A list column (CoveredBy, Gaps, ...): an array as it is (empty items dropped), or the text Export-Csv
        /// wrote for it, the items joined with "; ", split again. An item that itself holds "; " comes back from
        /// a CSV as two items; the report shows them as two lines.
        /// </summary>
        public static IReadOnlyList<string> ToList(object? value)
        {
            var items = new List<string>();
            switch (value)
            {
                case null:
                    break;
                case string text:
                    foreach (var part in text.Split(new[] { "; " }, StringSplitOptions.None))
                    {
                        var item = part.Trim();
                        if (item.Length > 0)
                        {
                            items.Add(item);
                        }
                    }

                    break;
                case IEnumerable sequence:
                    foreach (var element in sequence)
                    {
                        var item = ToText(element is PSObject wrapped ? wrapped.BaseObject : element);
                        if (item != null)
                        {
                            items.Add(item);
                        }
                    }

                    break;
                default:
                    var single = ToText(value);
                    if (single != null)
                    {
                        items.Add(single);
                    }

                    break;
            }

            return items;
        }

        public static bool? ToBoolean(object? value)
        {
            switch (value)
            {
                case null:
                    return null;
                case bool b:
                    return b;
                case string s:
                    var t = s.Trim();
                    if (t.Length == 0)
                    {
                        return null;
                    }

                    if (t.Equals("true", StringComparison.OrdinalIgnoreCase) || t.Equals("yes", StringComparison.OrdinalIgnoreCase) || t == "1")
                    {
                        return true;
                    }

                    if (t.Equals("false", StringComparison.OrdinalIgnoreCase) || t.Equals("no", StringComparison.OrdinalIgnoreCase) || t == "0")
                    {
                        return false;
                    }

                    return null;
                case sbyte or byte or short or ushort or int or uint or long or ulong:
                    return Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0;
                default:
                    return null;
            }
        }

        public static int? ToInt32(object? value)
        {
            switch (value)
            {
                case null:
                    return null;
                case int i:
                    return i;
                case sbyte or byte or short or ushort or uint or long or ulong:
                    var l = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                    return l > int.MaxValue ? int.MaxValue : l < int.MinValue ? int.MinValue : (int)l;
                case double or float or decimal:
                    var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                    return double.IsNaN(d) ? (int?)null : (int)Math.Max(int.MinValue, Math.Min(int.MaxValue, Math.Round(d)));
                case string s:
                    return int.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : (int?)null;
                default:
                    return null;
            }
        }

        /// <summary>A DateTime as UTC (a Local or Unspecified kind is converted/assumed UTC); ISO text parsed as UTC.</summary>
        public static DateTime? ToUtcDateTime(object? value)
        {
            switch (value)
            {
                case null:
                    return null;
                case DateTime d:
                    return d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : DateTime.SpecifyKind(d, DateTimeKind.Utc);
                case DateTimeOffset o:
                    return o.UtcDateTime;
                case string s:
                    var t = s.Trim();
                    if (t.Length == 0)
                    {
                        return null;
                    }

                    return DateTime.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed)
                        ? DateTime.SpecifyKind(parsed, DateTimeKind.Utc)
                        : (DateTime?)null;
                default:
                    return null;
            }
        }

        /// <summary>Disabled / Enabled / Enforced whatever the case; other text as it is; empty → Unknown.</summary>
        public static string NormalizeState(string? state)
        {
            if (string.IsNullOrWhiteSpace(state))
            {
                return "Unknown";
            }

            var t = state!.Trim();
            if (t.Equals("disabled", StringComparison.OrdinalIgnoreCase))
            {
                return "Disabled";
            }

            if (t.Equals("enabled", StringComparison.OrdinalIgnoreCase))
            {
                return "Enabled";
            }

            if (t.Equals("enforced", StringComparison.OrdinalIgnoreCase))
            {
                return "Enforced";
            }

            return t;
        }

        /// <summary><c>2026-11-01 10:00</c> (UTC, minutes): sortable as text and short enough for a table cell.</summary>
        public static string FormatDateTime(DateTime value) =>
            (value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }
}
