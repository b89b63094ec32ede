using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Bulk;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using PerUserMfa.Output;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Undo-PerUserMfaChange: reads a journal and plans, confirms and applies the way back for the
    /// users it changed and nobody changed since (<see cref="BulkChangeCommandBase"/>). User help: docs/help/Undo-PerUserMfaChange.md.</summary>
    [Cmdlet(VerbsCommon.Undo, "PerUserMfaChange", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = PathSet, HelpUri = HelpUris.Pages + "Undo-PerUserMfaChange.md")]
    [OutputType(OutputFactory.ChangeResultTypeName)]
    public sealed class UndoPerUserMfaChangeCommand : BulkChangeCommandBase
    {
        internal const string Verb = "Undo per-user MFA change";
        private const string PathSet = "Path";
        private const string LastSet = "Last";

        /// <summary>Journals given so far (from the pipeline: each once, in order).</summary>
        private readonly List<string> _journals = new List<string>();

        /// <summary>The journal of the run to undo; from the pipeline by property name (a ChangeResult's
        /// JournalPath, a file's FullName, a Path).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "Path")]
        [ValidateNotNullOrEmpty]
        public string JournalPath { get; set; } = null!;

        /// <summary>Undo the most recent Set-PerUserMfaState run in the default journal folder.</summary>
        [Parameter(Mandatory = true, ParameterSetName = LastSet)]
        public SwitchParameter Last { get; set; }

        /// <summary>Also put back accounts someone else changed since the run (by default they are left alone).</summary>
        [Parameter]
        public SwitchParameter IncludeChangedSince { get; set; }

        /// <summary>The undo's own journal (a file, or a folder to create it in). Default: a new file in
        /// the per-user data folder.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string UndoJournalPath { get; set; } = null!;

        protected override void ProcessRecord()
        {
            if (ParameterSetName == PathSet)
            {
                var path = ResolvePath(JournalPath);
                if (!_journals.Contains(path, StringComparer.Ordinal))
                {
                    _journals.Add(path);
                }
            }
        }

        protected override void EndProcessing()
        {
            if (ParameterSetName == LastSet)
            {
                var latest = JournalLocation.Latest(EngineRequests.JournalSet);
                if (latest == null)
                {
                    ThrowTerminatingError(ErrorRecordFactory.FromException(new PerUserMfaException(
                        $"There is no journal of a Set-PerUserMfaState run in '{JournalLocation.DefaultFolder()}'. Give the journal with -JournalPath.",
                        "InvalidInput",
                        ErrorCategory.ObjectNotFound)));
                }

                WriteHostInformation("Undoing the latest run: " + latest);
                _journals.Add(latest!);
            }

            for (var i = 0; i < _journals.Count; i++)
            {
                if (i > 0)
                {
                    StartNextRun();
                }

                Undo(_journals[i]);
            }
        }

        private void Undo(string path)
        {
            var (header, entries) = ReadJournal(path);
            var note = header?.Complete == false ? BulkText.IncompleteForUndo(path) : null;
            var unknown = entries.Count(e => e.Status == JournalEntry.StatusPending && !e.Sent);
            if (entries.Any(e => e.Status == JournalEntry.StatusPending))
            {
                WriteWarning(
                    $"The run of '{path}' was interrupted: {BulkText.Count(entries.Count(e => e.Status == JournalEntry.StatusPending), "account has", "accounts have")} no outcome. " +
                    "Those whose change was sent are undone if it landed. " +
                    (unknown > 0 ? $"{BulkText.Count(unknown, "account was", "accounts were")} never sent a change and stay as they are. " : string.Empty) +
                    $"To finish the run instead, use Set-PerUserMfaState -ResumeJournal '{path}'.");
            }

            if (note != null)
            {
                WriteWarning(note);
            }

            var undo = entries.Where(e => e.UndoNeeded).Select(e => e.ToUndoChange(IncludeChangedSince.IsPresent)).ToList();
            foreach (var entry in entries.Where(e => e.UndoNeeded && e.Verdict != null))
            {
                // Why the run changed the user (-RequireCoverage), for whoever reviews the undo.
                WriteVerbose($"{(string.IsNullOrEmpty(entry.UserPrincipalName) ? entry.Target : entry.UserPrincipalName)} was changed by a -RequireCoverage run: its verdict was {entry.Verdict}. {entry.VerdictReason}");
            }
            if (undo.Count == 0)
            {
                WriteHostInformation($"Nothing to undo: no account in '{path}' was changed." + (note == null ? string.Empty : Environment.NewLine + note));
                return;
            }

            var planned = PlanChanges(undo);
            var given = MyInvocation.BoundParameters.ContainsKey(nameof(UndoJournalPath)) ? ResolvePath(UndoJournalPath) : null;
            var journal = JournalLocation.Choose(given, EngineRequests.JournalUndo, null, DateTime.UtcNow, JournalLocation.NewSuffix());
            if (given != null && _journals.Count > 1 && journal == given)
            {
                // One file cannot hold the undo of several journals: each gets its own in that file's folder.
                journal = JournalLocation.Choose(System.IO.Path.GetDirectoryName(given) + System.IO.Path.DirectorySeparatorChar, EngineRequests.JournalUndo, null, DateTime.UtcNow, JournalLocation.NewSuffix());
            }

            ConfirmAndApply(planned, EngineRequests.JournalUndo, journal, alwaysJournal: journal == given, null, path, Verb, note);
        }
    }
}
