using System;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Bulk;
using PerUserMfa.Engine;
using PerUserMfa.Output;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Undo-PerUserMfaChange: reads a journal and plans, confirms and applies the way back for the
    /// users it changed (<see cref="BulkChangeCommandBase"/>). User help: docs/help/Undo-PerUserMfaChange.md.</summary>
    [Cmdlet(VerbsCommon.Undo, "PerUserMfaChange", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(OutputFactory.ChangeResultTypeName)]
    public sealed class UndoPerUserMfaChangeCommand : BulkChangeCommandBase
    {
        internal const string Verb = "Undo per-user MFA change";

        /// <summary>The journal of the run to undo.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string JournalPath { get; set; } = null!;

        /// <summary>The undo's own journal (a file, or a folder to create it in). Default: a new file in
        /// the per-user data folder.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string UndoJournalPath { get; set; } = null!;

        protected override void EndProcessing()
        {
            var path = ResolvePath(JournalPath);
            var (_, entries) = ReadJournal(path);
            var unknown = entries.Count(e => e.Status == JournalEntry.StatusPending && !e.Sent);
            if (entries.Any(e => e.Status == JournalEntry.StatusPending))
            {
                WriteWarning(
                    $"The run of '{path}' was interrupted: {BulkText.Count(entries.Count(e => e.Status == JournalEntry.StatusPending), "account has", "accounts have")} no outcome. " +
                    "Those whose change was sent are undone if it landed; " +
                    (unknown > 0 ? $"{BulkText.Count(unknown, "account was", "accounts were")} never sent a change and stay as they are. " : string.Empty) +
                    $"To finish the run instead, use Set-PerUserMfaState -ResumeJournal '{path}'.");
            }

            var undo = entries.Where(e => e.UndoNeeded).Select(e => e.ToUndoChange()).ToList();
            if (undo.Count == 0)
            {
                WriteHostInformation($"Nothing to undo: no account in '{path}' was changed.");
                return;
            }

            var planned = PlanChanges(undo);
            var given = MyInvocation.BoundParameters.ContainsKey(nameof(UndoJournalPath)) ? ResolvePath(UndoJournalPath) : null;
            var journal = JournalLocation.Choose(given, EngineRequests.JournalUndo, null, DateTime.UtcNow, JournalLocation.NewSuffix());
            ConfirmAndApply(planned, EngineRequests.JournalUndo, journal, alwaysJournal: journal == given, null, path, Verb);
        }
    }
}
