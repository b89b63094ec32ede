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
    /// Without the sign-in and What-If columns the object is a compiled <see cref="MigrationCheck"/>; with them a
    /// PSObject whose note properties keep the same names and order.
    /// CoveredBy, ReportOnly, Gaps, PerUserOnlyApps and WhatIf are <see cref="TextList"/>s: lists to scripts, joined
    /// with "; " in Export-Csv instead of a type name.
    /// </remarks>
    internal static class MigrationCheckFactory
    {
        public const string TypeName = "PerUserMfa.MigrationCheck";

        public static PSObject Create(MigrationCheckEvent e) => Create(e, null);

        /// <summary>The check, marked as written by <paramref name="run"/> (see <see cref="Report.MigrationRuns"/>).</summary>
        public static PSObject Create(MigrationCheckEvent e, string? run)
        {
            if (!e.HasSignIns && e.WhatIf == null)
            {
                // The common shape: a compiled object, far lighter than nine note properties.
                return new PSObject(new MigrationCheck
                {
                    UserPrincipalName = e.UserPrincipalName,
                    DisplayName = e.DisplayName,
                    Id = e.Id,
                    PerUserMfaState = StateText.ToDisplay(e.PerUserMfaState),
                    Verdict = e.Verdict,
                    CoveredBy = TextList.Of(e.CoveredBy),
                    ReportOnly = TextList.Of(e.ReportOnly),
                    Gaps = TextList.Of(e.Gaps),
                    Reason = e.Reason,
                    Run = run,
                });
            }

            var result = NewUser(TypeName, e, e.PerUserMfaState);
            Add(result, "Verdict", e.Verdict);
            Add(result, "CoveredBy", TextList.Of(e.CoveredBy));
            Add(result, "ReportOnly", TextList.Of(e.ReportOnly));
            Add(result, "Gaps", TextList.Of(e.Gaps));
            Add(result, "Reason", e.Reason);
            if (e.HasSignIns)
            {
                Add(result, "MfaSignIns", e.MfaSignIns);
                Add(result, "PerUserOnlyMfaSignIns", e.PerUserOnlyMfaSignIns);
                Add(result, "LastPerUserOnlyMfaSignIn", UserReportFactory.Date(e.LastPerUserOnlyMfaSignIn));
                Add(result, "PerUserOnlyApps", TextList.Of(e.PerUserOnlyApps));
                Add(result, "LastConditionalAccessMfaSignIn", UserReportFactory.Date(e.LastConditionalAccessMfaSignIn));
            }

            if (e.WhatIf != null)
            {
                Add(result, "WhatIf", TextList.Of(e.WhatIf));
            }

            if (run != null)
            {
                Report.MigrationRuns.Mark(result, run);
            }

            return result;
        }
    }
}
