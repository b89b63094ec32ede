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
    /// CoveredBy, ReportOnly, Gaps, PerUserOnlyApps and WhatIf are <see cref="TextList"/>s: lists to scripts, joined
    /// with "; " in Export-Csv instead of a type name.
    /// </remarks>
    internal static class MigrationCheckFactory
    {
        public const string TypeName = "PerUserMfa.MigrationCheck";

        public static PSObject Create(MigrationCheckEvent e)
        {
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

            return result;
        }
    }
}
