using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace PerUserMfa.Output
{
    /// <summary>
    /// A list column of text (CoveredBy, ReportOnly, Gaps, PerUserOnlyApps, WhatIf). Scripts see a list
    /// (<c>.Count</c>, indexing, <c>-contains</c>, <c>foreach</c>, ConvertTo-Json writes an array), while
    /// Export-Csv, which writes a column's ToString, gets the items joined with "; " instead of the type name.
    /// </summary>
    /// <remarks>
    /// A type of its own rather than a string array wrapped in a PSObject with a ToString code method: that
    /// costs a reflection lookup and an instance-member table entry per list, four lists per user, which made
    /// Test-PerUserMfaMigration -All spend twice the CPU of Get-PerUserMfaState -All on its objects.
    /// </remarks>
    public sealed class TextList : ReadOnlyCollection<string>
    {
        /// <summary>The list of no items (shared: a TextList cannot change).</summary>
        public static readonly TextList Empty = new TextList(new string[0]);

        private TextList(IList<string> items)
            : base(items)
        {
        }

        /// <summary>A list of <paramref name="items"/> (copied; the shared empty list for none).</summary>
        public static TextList Of(IReadOnlyList<string> items)
        {
            if (items.Count == 0)
            {
                return Empty;
            }

            var copy = new string[items.Count];
            for (var i = 0; i < copy.Length; i++)
            {
                copy[i] = items[i];
            }

            return new TextList(copy);
        }

        /// <summary>The items joined with "; " (empty for an empty list).</summary>
        public override string ToString() => string.Join("; ", this);
    }
}
