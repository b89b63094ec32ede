using System;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Bulk;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using PerUserMfa.Output;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Set-PerUserMfaState: plan, confirm, apply with a journal (<see cref="BulkChangeCommandBase"/>);
    /// -ResumeJournal finishes an interrupted run. User help: docs/help/Set-PerUserMfaState.md.</summary>
    [Cmdlet(VerbsCommon.Set, "PerUserMfaState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = UserIdSet, HelpUri = HelpUris.Pages + "Set-PerUserMfaState.md")]
    [OutputType(OutputFactory.ChangeResultTypeName)]
    public sealed class SetPerUserMfaStateCommand : BulkChangeCommandBase
    {
        private const string UserIdSet = "UserId";
        private const string ResumeSet = "Resume";
        internal const string Verb = "Set per-user MFA state";

        /// <summary>Object ids or user principal names, or objects that carry one (as Get-PerUserMfaState takes them).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = UserIdSet, ValueFromPipeline = true)]
        [Alias("Id", "UserPrincipalName", "ObjectId", "UPN")]
        public object[] UserId { get; set; } = null!;

        /// <summary>The state to set: Disabled, Enabled or Enforced (by name).</summary>
        [Parameter(Mandatory = true, ParameterSetName = UserIdSet)]
        [Alias("PerUserMfaState")]
        [StateName]
        public PerUserMfaState State { get; set; }

        /// <summary>The journal file (written even when nothing needs changing), or a folder to create
        /// it in. Default: a new file in the per-user data folder (LocalApplicationData/PerUserMfa/journals).</summary>
        [Parameter(ParameterSetName = UserIdSet)]
        [ValidateNotNullOrEmpty]
        public string JournalPath { get; set; } = null!;

        /// <summary>With -State Disabled: turn per-user MFA off only for users whose migration verdict
        /// (Test-PerUserMfaMigration) is Covered at the moment of the change; every other user is left
        /// as they are, with an error record (NotCovered) naming the verdict and its reason.</summary>
        [Parameter(ParameterSetName = UserIdSet)]
        public SwitchParameter RequireCoverage { get; set; }

        /// <summary>The journal of an interrupted run to finish.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ResumeSet)]
        [ValidateNotNullOrEmpty]
        public string ResumeJournal { get; set; } = null!;

        /// <summary>-RequireCoverage goes with -State Disabled only (the engine words it the same way).</summary>
        internal const string RequireCoverageNeedsDisabled =
            "-RequireCoverage goes with -State Disabled only: it turns per-user MFA off just for the accounts that " +
            "Conditional Access or security defaults would still ask for MFA. Remove -RequireCoverage to set another state.";

        protected override void BeginProcessing()
        {
            if (RequireCoverage.IsPresent && State != PerUserMfaState.Disabled)
            {
                // Before anything is read or sent: a parameter error.
                ThrowTerminatingError(ErrorRecordFactory.FromException(new PerUserMfaException(
                    RequireCoverageNeedsDisabled + $" (-State {State} was given.)",
                    "RequireCoverageNeedsDisabled",
                    ErrorCategory.InvalidArgument)));
            }

            RequiresCoverage = RequireCoverage.IsPresent;
            base.BeginProcessing();
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == UserIdSet)
            {
                // Reads start as the pipeline delivers users; nothing is changed before EndProcessing.
                var userIds = ReadUserIds(UserId);
                RecordInputOrder(userIds);
                PlanPump(State).Push(userIds);
            }
        }

        protected override void EndProcessing()
        {
            if (ParameterSetName == ResumeSet)
            {
                Resume();
                return;
            }

            var planned = FinishPlan();
            if (planned.Count == 0 && Tally.Failed == 0)
            {
                return;
            }

            var given = MyInvocation.BoundParameters.ContainsKey(nameof(JournalPath)) ? ResolvePath(JournalPath) : null;
            var journal = JournalLocation.Choose(given, EngineRequests.JournalSet, State, DateTime.UtcNow, JournalLocation.NewSuffix());
            // A file the admin named is written even when nothing needs changing; a folder only holds journals of changes.
            ConfirmAndApply(planned, EngineRequests.JournalSet, journal, alwaysJournal: journal == given, State, null, Verb);
        }

        private void Resume()
        {
            var path = ResolvePath(ResumeJournal);
            var (header, entries) = ReadJournal(path);
            var unfinished = entries.Where(e => e.ResumeNeeded).ToList();
            if (unfinished.Count == 0)
            {
                var complete = header?.Complete != false;
                WriteHostInformation(
                    $"Nothing to resume: every account in '{path}' has its outcome ({BulkText.Count(entries.Count, "account", "accounts")})." +
                    (complete ? string.Empty : " The journal has no record that its run ended: if lines at its end were lost, the accounts they were about are not known to it."));
                return;
            }

            var pending = unfinished.Count(e => e.Status == JournalEntry.StatusPending);
            // The run required coverage: its resume does too (users it left alone stay so; the others' verdicts are read again).
            RequiresCoverage = header?.RequireCoverage == true;
            WriteHostInformation(
                $"Resuming the {header?.Operation ?? "set"} run of '{path}': {BulkText.Count(pending, "account", "accounts")} without an outcome" +
                (unfinished.Count > pending ? $", {BulkText.Count(unfinished.Count - pending, "account", "accounts")} that failed" : string.Empty) +
                ". Reading their states again before sending only what is still needed" +
                (RequiresCoverage ? ", and only to accounts still Covered (the run was started with -RequireCoverage)." : "."));
            var planned = PlanChanges(unfinished.Select(e => e.ToResumeChange()).ToList());
            ConfirmAndApply(planned, EngineRequests.JournalResume, path, alwaysJournal: true, requestedState: null, undoOf: null, Verb + " (resume)");
        }
    }
}
