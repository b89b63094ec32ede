using System.Management.Automation;

namespace PerUserMfa.Report
{
    /// <summary>
    /// Which accounts a report covers. Get-PerUserMfaState marks what its own listing emits with a
    /// second type name (the first still selects the view; Export-Csv writes no type names), so the
    /// report can say "licensed member accounts" or "every user" instead of letting a reader take
    /// the default scope for the whole tenant. Anything else (named users, Import-Csv rows) is
    /// "the accounts given".
    /// </summary>
    internal static class ReportScope
    {
        public const string LicensedMembersTypeName = "PerUserMfa.Scope.LicensedMembers";
        public const string AllUsersTypeName = "PerUserMfa.Scope.AllUsers";

        /// <summary>Marks an object the listing of <paramref name="allUsers"/> (-All) or licensed members emitted.</summary>
        public static void Mark(PSObject listed, bool allUsers) =>
            listed.TypeNames.Insert(listed.TypeNames.Count > 0 ? 1 : 0, allUsers ? AllUsersTypeName : LicensedMembersTypeName);

        /// <summary>The scope marker of <paramref name="input"/>, or null when it came from elsewhere.</summary>
        public static string? Of(PSObject input)
        {
            foreach (var name in input.TypeNames)
            {
                if (name == LicensedMembersTypeName || name == AllUsersTypeName)
                {
                    return name;
                }
            }

            return null;
        }

        private static readonly object Gate = new object();
        private static readonly System.Collections.Generic.Dictionary<string, int> ListedCounts =
            new System.Collections.Generic.Dictionary<string, int>();

        /// <summary>Records how many users a listing emitted. In <c>Get-PerUserMfaState | Export-PerUserMfaReport</c>
        /// the listing ends before the report is written, so the report can tell the whole listing from a
        /// selection of it (a Where-Object in between).</summary>
        public static void RecordListing(bool allUsers, int count)
        {
            lock (Gate)
            {
                ListedCounts[allUsers ? AllUsersTypeName : LicensedMembersTypeName] = count;
            }
        }

        /// <summary>The sentence the report's header shows.</summary>
        /// <param name="commonMarker">The marker every row had, or null when they differed or had none.</param>
        /// <param name="rows">How many rows the report has.</param>
        public static string Describe(string? commonMarker, int rows)
        {
            int? listed = null;
            lock (Gate)
            {
                if (commonMarker != null && ListedCounts.TryGetValue(commonMarker, out var count))
                {
                    listed = count;
                }
            }

            var accounts = $"{rows:N0} {(rows == 1 ? "account" : "accounts")}";
            var whole = listed == rows;
            return commonMarker switch
            {
                LicensedMembersTypeName when whole =>
                    $"the {accounts} of the licensed member listing (Get-PerUserMfaState without -All): guests and unlicensed accounts are not in this report",
                LicensedMembersTypeName =>
                    $"{accounts} selected from the licensed member listing (Get-PerUserMfaState without -All): guests and unlicensed accounts are not in this report",
                AllUsersTypeName when whole => $"every user in the tenant, {accounts} (Get-PerUserMfaState -All)",
                AllUsersTypeName => $"{accounts} selected from every user in the tenant (Get-PerUserMfaState -All)",
                _ => $"the {accounts} given to Export-PerUserMfaReport",
            };
        }
    }
}
