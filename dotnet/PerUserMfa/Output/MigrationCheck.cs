namespace PerUserMfa
{
    /// <summary>
    /// One account's migration readiness (Test-PerUserMfaMigration without -IncludeSignIns and -Evaluate).
    /// Its full name is the PerUserMfa.MigrationCheck type name the default view and scripts rely on, and
    /// its properties, in this order, are the public contract <see cref="Output.MigrationCheckFactory"/>
    /// documents. A compiled class rather than a PSObject with note properties: 100,000 of them cost
    /// about half the memory and garbage collection (the object count is most of what Test-PerUserMfaMigration
    /// -All spends beyond Get-PerUserMfaState -All).
    /// </summary>
    public sealed class MigrationCheck
    {
        public string? UserPrincipalName { get; set; }

        public string? DisplayName { get; set; }

        public string? Id { get; set; }

        public string? PerUserMfaState { get; set; }

        /// <summary><c>Covered</c>, <c>PartiallyCovered</c>, <c>NotCovered</c> or <c>Unknown</c>.</summary>
        public string? Verdict { get; set; }

        public Output.TextList CoveredBy { get; set; } = Output.TextList.Empty;

        public Output.TextList ReportOnly { get; set; } = Output.TextList.Empty;

        public Output.TextList Gaps { get; set; } = Output.TextList.Empty;

        public string? Reason { get; set; }

        /// <summary>The Test-PerUserMfaMigration run that wrote this check (its tenant summary is kept for
        /// Export-PerUserMfaReport); not a property PowerShell shows.</summary>
        internal string? Run { get; set; }
    }
}
