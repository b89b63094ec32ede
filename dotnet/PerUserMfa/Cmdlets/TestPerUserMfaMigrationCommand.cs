using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;
using PerUserMfa.Report;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// Test-PerUserMfaMigration: for each account, would it still be asked for MFA if per-user MFA were
    /// Disabled? One PerUserMfa.MigrationCheck per account (verdict, the policies that cover it, report-only
    /// policies, gaps, reason), then a tenant summary on the information stream. The engine reads the
    /// Conditional Access set-up once and judges every account; this cmdlet only binds and delegates.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "PerUserMfaMigration", DefaultParameterSetName = ListSet, HelpUri = HelpUris.Pages + "Test-PerUserMfaMigration.md")]
    [OutputType(MigrationCheckFactory.TypeName)]
    public sealed class TestPerUserMfaMigrationCommand : JobCmdletBase
    {
        private const string ListSet = "List";
        private const string UserIdSet = "UserId";

        /// <summary>Object ids or user principal names.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = UserIdSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "UserPrincipalName", "ObjectId")]
        [ValidateNotNullOrEmpty]
        public string[] UserId { get; set; } = null!;

        /// <summary>Every account, not only those whose per-user MFA state is Enabled or Enforced.</summary>
        [Parameter(ParameterSetName = ListSet)]
        public SwitchParameter All { get; set; }

        /// <summary>
        /// Also ask Graph's What-If for each PartiallyCovered or Unknown user (Exchange Online and SharePoint Online,
        /// browser and mobile/desktop clients, Windows and iOS): the WhatIf column. Paced at one request per second.
        /// </summary>
        [Parameter]
        public SwitchParameter Evaluate { get; set; }

        /// <summary>Also scan the sign-in logs (interactive and non-interactive) for successful sign-ins whose MFA
        /// only per-user MFA required: such a sign-in turns Covered into PartiallyCovered. Adds MfaSignIns,
        /// PerUserOnlyMfaSignIns, LastPerUserOnlyMfaSignIn, PerUserOnlyApps and LastConditionalAccessMfaSignIn.
        /// Needs AuditLog.Read.All and Entra ID P1.</summary>
        [Parameter]
        public SwitchParameter IncludeSignIns { get; set; }

        /// <summary>How many days of sign-in logs -IncludeSignIns scans (1 to 30, default 30).</summary>
        [Parameter]
        [ValidateRange(1, 30)]
        public int SignInDays { get; set; } = 30;

        /// <summary>How many Graph requests may be in flight at once.</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int ThrottleLimit { get; set; }

        /// <summary>This run's name: its checks carry it, and its tenant summary is recorded under it, so
        /// Export-PerUserMfaReport can show the tenant-wide part of the run its checks came from.</summary>
        private readonly string _run = MigrationRuns.NewRun();

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (MyInvocation.BoundParameters.ContainsKey(nameof(SignInDays)) && !IncludeSignIns.IsPresent)
            {
                WriteWarning("-SignInDays only applies with -IncludeSignIns (it sets how many days of sign-in logs are scanned); it is ignored here.");
            }
        }

        protected override void ProcessRecord()
        {
            var throttleLimit = BoundThrottleLimit(ThrottleLimit);
            int? signInDays = IncludeSignIns.IsPresent ? SignInDays : null;
            if (ParameterSetName == UserIdSet)
            {
                var pump = GetPump(EngineRequests.TestMigration(EngineRequests.ScopeInput, throttleLimit, Evaluate.IsPresent, signInDays));
                pump.Handler ??= MarkRun;
                pump.Push(UserId);
            }
            else
            {
                var scope = All.IsPresent ? EngineRequests.ScopeAll : EngineRequests.ScopePerUserMfa;
                var pump = GetPump(EngineRequests.TestMigration(scope, throttleLimit, Evaluate.IsPresent, signInDays));
                pump.Handler ??= MarkRun;
                pump.Run();
            }
        }

        /// <summary>Writes each check marked with the run; records the tenant summary (and lets the pump write it).</summary>
        private bool MarkRun(EngineEvent engineEvent)
        {
            if (engineEvent.Type == EngineEvent.MigrationCheck)
            {
                WriteObject(MigrationCheckFactory.Create(MigrationCheckEvent.From(engineEvent), _run));
                return true;
            }

            if (engineEvent.Type == EngineEvent.Information)
            {
                MigrationRuns.RecordIfSummary(_run, MessageEvent.From(engineEvent).Message);
            }

            return false;
        }

        protected override void EndProcessing() => CurrentPump?.Finish();
    }
}
