using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// <para type="synopsis">Gets the per-user MFA state of Microsoft Entra users.</para>
    /// <para type="description">Without -UserId: every licensed member account, or every user with -All.
    /// With -UserId (or pipeline input: strings, Import-Csv rows with an Id or UserPrincipalName column,
    /// Get-MgUser output): those users, streamed as they are read.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "PerUserMfaState", DefaultParameterSetName = ListSet)]
    [OutputType(OutputFactory.UserStateTypeName)]
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

        /// <summary>How many Graph requests may be in flight at once.</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int ThrottleLimit { get; set; }

        protected override void ProcessRecord()
        {
            var throttleLimit = BoundThrottleLimit(ThrottleLimit);
            if (ParameterSetName == UserIdSet)
            {
                GetPump(EngineRequests.GetStates(EngineRequests.ScopeInput, throttleLimit)).Push(UserId);
            }
            else
            {
                // No input: the engine lists the users itself. (With empty pipeline input there is
                // no ProcessRecord call, so an empty CSV never turns into "list everybody".)
                var scope = All.IsPresent ? EngineRequests.ScopeAll : EngineRequests.ScopeLicensedMembers;
                GetPump(EngineRequests.GetStates(scope, throttleLimit)).Run();
            }
        }

        protected override void EndProcessing() => CurrentPump?.Finish();
    }
}
