using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Get-PerUserMfaState: a getStates job (listing, or pushed -UserId input), with -Detailed a report
    /// job. User help: docs/help/Get-PerUserMfaState.md.</summary>
    [Cmdlet(VerbsCommon.Get, "PerUserMfaState", DefaultParameterSetName = ListSet)]
    [OutputType(OutputFactory.UserStateTypeName)]
    [OutputType(UserReportFactory.TypeName)]
    public sealed class GetPerUserMfaStateCommand : JobCmdletBase
    {
        private const string ListSet = "List";
        private const string UserIdSet = "UserId";

        /// <summary>Object ids or user principal names.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = UserIdSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "UserPrincipalName", "ObjectId")]
        [ValidateNotNullOrEmpty]
        public string[] UserId { get; set; } = null!;

        /// <summary>Every user (guests and unlicensed accounts too), not only licensed members.</summary>
        [Parameter(ParameterSetName = ListSet)]
        public SwitchParameter All { get; set; }

        /// <summary>The most Graph requests in flight at once (an upper bound: the engine adapts the working number to the round trip).</summary>
        [Parameter]
        [ValidateRange(1, 10000)]
        public int ThrottleLimit { get; set; }

        /// <summary>One PerUserMfa.UserReport per user: account, licence, admin, MFA registration, sign-in
        /// activity and password columns joined in (needs AuditLog.Read.All for the registration and sign-in
        /// columns; without it, or in an Entra ID Free tenant, those stay empty and one warning says why).</summary>
        [Parameter]
        public SwitchParameter Detailed { get; set; }

        /// <summary>With -Detailed: LastMfaSignIn and DaysSinceLastMfaSignIn from the sign-in logs (implies -Detailed).</summary>
        [Parameter]
        public SwitchParameter IncludeMfaSignIns { get; set; }

        /// <summary>With -Detailed: AuthenticationMethods, each registered method with its detail (phone numbers,
        /// email addresses, device names). One Graph request per user; needs UserAuthenticationMethod.Read.All
        /// (implies -Detailed).</summary>
        [Parameter]
        public SwitchParameter IncludeMethodDetails { get; set; }

        /// <summary>How many days of sign-in logs -IncludeMfaSignIns searches (1 to 30, default 30).</summary>
        [Parameter]
        [ValidateRange(1, 30)]
        public int SignInDays { get; set; } = 30;

        private bool IsReport => Detailed.IsPresent || IncludeMfaSignIns.IsPresent || IncludeMethodDetails.IsPresent;

        private string Request(string scope, int? throttleLimit) => IsReport
            ? EngineRequests.GetReport(scope, IncludeMfaSignIns.IsPresent, IncludeMethodDetails.IsPresent, SignInDays, throttleLimit)
            : EngineRequests.GetStates(scope, throttleLimit);

        protected override void ProcessRecord()
        {
            var throttleLimit = BoundThrottleLimit(ThrottleLimit);
            if (ParameterSetName == UserIdSet)
            {
                GetPump(Request(EngineRequests.ScopeInput, throttleLimit)).Push(UserId);
            }
            else
            {
                // No input: the engine lists the users itself. (With empty pipeline input there is
                // no ProcessRecord call, so an empty CSV never turns into "list everybody".)
                var scope = All.IsPresent ? EngineRequests.ScopeAll : EngineRequests.ScopeLicensedMembers;
                GetPump(Request(scope, throttleLimit)).Run();
            }
        }

        protected override void EndProcessing() => CurrentPump?.Finish();
    }
}
