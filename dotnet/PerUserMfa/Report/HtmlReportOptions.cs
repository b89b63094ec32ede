using System;

namespace PerUserMfa.Report
{
    /// <summary>What the report says about itself, and its size limits.</summary>
    internal sealed class HtmlReportOptions
    {
        public const string DefaultTitle = "Per-user MFA report";

        public string Title { get; set; } = DefaultTitle;

        /// <summary>Shown in the header when set.</summary>
        public string? TenantName { get; set; }

        /// <summary>Which accounts the report covers (<see cref="ReportScope.Describe"/>); shown in the header when set.</summary>
        public string? Scope { get; set; }

        /// <summary>The report's time (UTC); "now" for days computed from dates.</summary>
        public DateTime GeneratedAtUtc { get; set; } = DateTime.UtcNow;

        public int PasswordAgeThresholdDays { get; set; } = 365;

        /// <summary>The tenant-wide part of the Test-PerUserMfaMigration run the checks came from, when known.</summary>
        public TenantMigrationSummary? MigrationTenant { get; set; }

        /// <summary>Most names each summary list shows; the rest are counted ("and 1,234 more").</summary>
        public int NameListLimit { get; set; } = 200;

        /// <summary>
        /// Most rows of the table written for a browser without script. Up to this many users the
        /// script-free table has everyone; above it, the Enabled/Enforced accounts first, up to the limit.
        /// </summary>
        public int NoScriptRowLimit { get; set; } = 5000;

        /// <summary>Rows per page of the scripted table.</summary>
        public int PageSize { get; set; } = 100;
    }
}
