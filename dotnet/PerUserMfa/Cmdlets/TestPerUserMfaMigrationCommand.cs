using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;

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

        /// <summary>How many Graph requests may be in flight at once.</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int ThrottleLimit { get; set; }

        protected override void ProcessRecord()
        {
            var throttleLimit = BoundThrottleLimit(ThrottleLimit);
            if (ParameterSetName == UserIdSet)
            {
                GetPump(EngineRequests.TestMigration(EngineRequests.ScopeInput, throttleLimit)).Push(UserId);
            }
            else
            {
                var scope = All.IsPresent ? EngineRequests.ScopeAll : EngineRequests.ScopePerUserMfa;
                GetPump(EngineRequests.TestMigration(scope, throttleLimit)).Run();
            }
        }

        protected override void EndProcessing() => CurrentPump?.Finish();
    }
}
