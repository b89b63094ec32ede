using System.Collections.Generic;
using System.Management.Automation;
using PerUserMfa.Engine;
using static PerUserMfa.Output.OutputFactory;

namespace PerUserMfa.Output
{
    /// <summary>
    /// <c>migrationCheck</c> → a <c>PerUserMfa.MigrationCheck</c> (Test-PerUserMfaMigration). Property names and
    /// order are a public contract: UserPrincipalName, DisplayName, Id, PerUserMfaState, Verdict, CoveredBy,
    /// ReportOnly, Gaps, Reason; with -IncludeSignIns also MfaSignIns, PerUserOnlyMfaSignIns,
    /// LastPerUserOnlyMfaSignIn, PerUserOnlyApps and LastConditionalAccessMfaSignIn (all empty when the sign-in
    /// logs could not be read); with -Evaluate also WhatIf.
    /// </summary>
    /// <remarks>
    /// CoveredBy, ReportOnly, Gaps and PerUserOnlyApps are string arrays wrapped in a <see cref="PSObject"/> whose ToString joins
    /// them with "; ": scripts see an array (<c>.Count</c>, <c>-contains</c>, <c>foreach</c>), while Export-Csv and
    /// string expansion write the joined text instead of <c>System.String[]</c>.
    /// </remarks>
    internal static class MigrationCheckFactory
    {
        public const string TypeName = "PerUserMfa.MigrationCheck";

        public static PSObject Create(MigrationCheckEvent e)
        {
            var result = NewUser(TypeName, e, e.PerUserMfaState);
            Add(result, "Verdict", e.Verdict);
            Add(result, "CoveredBy", List(e.CoveredBy));
            Add(result, "ReportOnly", List(e.ReportOnly));
            Add(result, "Gaps", List(e.Gaps));
            Add(result, "Reason", e.Reason);
            if (e.HasSignIns)
            {
                Add(result, "MfaSignIns", e.MfaSignIns);
                Add(result, "PerUserOnlyMfaSignIns", e.PerUserOnlyMfaSignIns);
                Add(result, "LastPerUserOnlyMfaSignIn", UserReportFactory.Date(e.LastPerUserOnlyMfaSignIn));
                Add(result, "PerUserOnlyApps", List(e.PerUserOnlyApps));
                Add(result, "LastConditionalAccessMfaSignIn", UserReportFactory.Date(e.LastConditionalAccessMfaSignIn));
            }

            if (e.WhatIf != null)
            {
                Add(result, "WhatIf", List(e.WhatIf));
            }

            return result;
        }

        /// <summary>A list whose ToString is the items joined with "; ".</summary>
        public static PSObject List(IReadOnlyList<string> items)
        {
            var array = new string[items.Count];
            for (var i = 0; i < array.Length; i++)
            {
                array[i] = items[i];
            }

            var wrapped = new PSObject(array);
            wrapped.Methods.Add(new PSCodeMethod("ToString", typeof(JoinedListText).GetMethod(nameof(JoinedListText.Join))));
            return wrapped;
        }

    }

    /// <summary>The ToString of list columns (a PSCodeMethod target, so public).</summary>
    public static class JoinedListText
    {
        /// <summary>The items joined with "; " (empty for an empty list).</summary>
        public static string Join(PSObject instance, params object[] arguments) =>
            instance?.BaseObject is string[] items ? string.Join("; ", items) : instance?.BaseObject?.ToString() ?? string.Empty;
    }
}
