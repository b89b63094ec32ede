using System.Collections.Generic;
using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// <para type="synopsis">Sets the per-user MFA state of Microsoft Entra users.</para>
    /// <para type="description">Takes users like Get-PerUserMfaState does, so
    /// Get-PerUserMfaState | Set-PerUserMfaState -State Enabled works. Supports -WhatIf and -Confirm;
    /// with -PassThru it outputs what each user ended with.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "PerUserMfaState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(OutputFactory.ChangeResultTypeName)]
    public sealed class SetPerUserMfaStateCommand : JobCmdletBase
    {
        /// <summary>Object ids or user principal names.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "UserPrincipalName", "ObjectId")]
        [ValidateNotNullOrEmpty]
        public string[] UserId { get; set; } = null!;

        /// <summary>The state to set: Disabled, Enabled or Enforced.</summary>
        [Parameter(Mandatory = true)]
        public PerUserMfaState State { get; set; }

        /// <summary>Output a PerUserMfa.ChangeResult per user.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>How many Graph requests may be in flight at once.</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int ThrottleLimit { get; set; }

        protected override void ProcessRecord()
        {
            var approved = new List<string>(UserId.Length);
            foreach (var user in UserId)
            {
                if (ShouldProcess(user, $"Set per-user MFA state to {State}"))
                {
                    approved.Add(user);
                }
            }

            // Only approved users reach the engine; the job starts at the first one (never under -WhatIf).
            GetPump(EngineRequests.SetStates(State, BoundThrottleLimit(ThrottleLimit)), writeChangeResults: PassThru.IsPresent)
                .Push(approved);
        }

        protected override void EndProcessing() => CurrentPump?.Finish();
    }
}
