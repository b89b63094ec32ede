using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Bulk;
using PerUserMfa.Connection;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using PerUserMfa.Output;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// What Set-PerUserMfaState and Undo-PerUserMfaChange share (docs/ARCHITECTURE.md §4): read a
    /// journal, plan (reads only), confirm, then apply with a journal and summarise.
    /// Confirmation (ConfirmImpact High): -WhatIf lists each planned change and sends nothing;
    /// an explicit -Confirm asks per user; otherwise one prompt for the whole run, which -Force,
    /// -Confirm:$false and $ConfirmPreference = 'None' skip.
    /// </summary>
    public abstract class BulkChangeCommandBase : JobCmdletBase
    {
        /// <summary>Pushes to the engine in chunks of this many changes.</summary>
        internal const int PushChunk = 1000;

        private readonly Stopwatch _clock = new Stopwatch();
        private readonly List<ChangeItem> _planned = new List<ChangeItem>();
        private readonly Dictionary<string, int> _inputOrder = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        private JobPump? _planPump;

        /// <summary>Skips the once-per-run confirmation (an explicit -Confirm still asks per user).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Output a PerUserMfa.ChangeResult per user (with JournalPath).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>The most users worked on at once (Graph requests in flight; an upper bound: the engine adapts the working number to the round trip).</summary>
        [Parameter]
        [ValidateRange(1, 10000)]
        public int ThrottleLimit { get; set; }

        internal ChangeTally Tally { get; private set; } = new ChangeTally();

        /// <summary>-RequireCoverage (or a resumed run that had it): change only users whose migration verdict is Covered.</summary>
        internal bool RequiresCoverage { get; set; }

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            _clock.Start();
        }

        /// <summary>Starts over for the next journal of one command (Undo with several journals piped in).</summary>
        internal void StartNextRun()
        {
            Tally = new ChangeTally();
            _planPump = null;
            _planned.Clear();
            _inputOrder.Clear();
            _clock.Restart();
        }

        /// <summary>Remembers the order users were given in, so the first of two spellings of one account is the one kept.</summary>
        internal void RecordInputOrder(IEnumerable<string> targets)
        {
            foreach (var target in targets)
            {
                if (target != null && !_inputOrder.ContainsKey(target))
                {
                    _inputOrder[target] = _inputOrder.Count;
                }
            }
        }

        /// <summary>Who is signed in now, for the journal's header and the tenant check.</summary>
        internal JournalConnection CurrentConnection()
        {
            var info = EngineSession == null ? null : ConnectionInfo.TryRead(EngineSession);
            return new JournalConnection
            {
                TenantId = info?.Get("tenantId"),
                AppId = info?.Get("clientId"),
                Account = info?.Get("account"),
            };
        }

        /// <summary>The journal a path names, as a file-system path (relative to the current PowerShell location).</summary>
        internal string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

        /// <summary>Runs a readJournal job: its header fields and every entry. A damaged journal stops the
        /// command with an error naming the file and line; a cut-off last line is a warning.</summary>
        internal (JournalHeaderEvent? Header, List<JournalEntry> Entries) ReadJournal(string path)
        {
            JournalHeaderEvent? header = null;
            var entries = new List<JournalEntry>();
            var pump = StartPump(EngineRequests.ReadJournal(path, CurrentConnection().TenantId));
            pump.Handler = e =>
            {
                switch (e.Type)
                {
                    case EngineEvent.JournalHeader:
                        header = JournalHeaderEvent.From(e);
                        return true;
                    case EngineEvent.JournalEntry:
                        entries.Add(JournalEntry.FromEvent(JournalEntryEvent.From(e)));
                        return true;
                    default:
                        return false;
                }
            };
            pump.Run();
            return (header, entries);
        }

        /// <summary>Starts (once) a planChanges job for user ids and a requested state; the pipeline
        /// pushes into it as records arrive. <paramref name="journalUsers"/>: the count of a journal's
        /// changes about to be pushed (resume, undo).</summary>
        internal JobPump PlanPump(PerUserMfaState? state, int? journalUsers = null)
        {
            if (_planPump == null)
            {
                _planPump = StartPump(EngineRequests.PlanChanges(state, BoundThrottleLimit(ThrottleLimit), RequiresCoverage, journalUsers));
                _planPump.Handler = CollectPlan;
            }

            return _planPump;
        }

        /// <summary>Finishes the plan fed through <see cref="PlanPump"/>; empty when nothing was pushed.
        /// An account given twice (its UPN and its object id, say) is planned once: the first given is
        /// kept and each other spelling is a warning.</summary>
        internal List<ChangeItem> FinishPlan()
        {
            _planPump?.Finish();
            var kept = new List<ChangeItem>();
            var byId = new Dictionary<string, ChangeItem>(StringComparer.OrdinalIgnoreCase);
            foreach (var item in _planned.OrderBy(p => _inputOrder.TryGetValue(p.Target, out var at) ? at : int.MaxValue))
            {
                if (byId.TryGetValue(item.Id, out var first))
                {
                    Tally.Duplicates++;
                    WriteWarning($"'{item.Target}' is the same account as '{first.Target}' ({first.Name}, object id {first.Id}): it is changed once.");
                    continue;
                }

                byId[item.Id] = item;
                kept.Add(item);
            }

            return kept;
        }

        /// <summary>Plans changes read from a journal (resume, undo).</summary>
        internal List<ChangeItem> PlanChanges(IReadOnlyList<ChangeItem> changes)
        {
            var pump = PlanPump(null, changes.Count);
            foreach (var chunk in Chunks(changes))
            {
                pump.PushInput(EngineRequests.Changes(chunk));
            }

            return FinishPlan();
        }

        private bool CollectPlan(EngineEvent e)
        {
            switch (e.Type)
            {
                case EngineEvent.PlannedChange:
                    _planned.Add(ChangeItem.FromPlannedChange(PlannedChangeEvent.From(e)));
                    return true;
                default:
                    return CountFailureAndLeaveToPump(e);
            }
        }

        /// <summary>What the plan and apply handlers do with the events they do not collect: an error counts
        /// as a failed user in the summary. Returns false, so the pump still handles the event as usual (an
        /// error becomes an error record).</summary>
        private bool CountFailureAndLeaveToPump(EngineEvent e)
        {
            if (e.Type == EngineEvent.Error && ErrorEvent.From(e).ErrorId == ChangeItem.ActionNotCoveredErrorId)
            {
                // The verdict changed between the plan and the change: left alone, not failed.
                Tally.NotCovered++;
            }
            else if (e.Type == EngineEvent.Error)
            {
                Tally.Failed++;
            }

            return false;
        }

        /// <summary>Confirms and applies a plan.</summary>
        /// <param name="planned">The plan.</param>
        /// <param name="operation">The journal operation (set, undo, resume).</param>
        /// <param name="journalPath">The journal file (already chosen and resolved).</param>
        /// <param name="alwaysJournal">Write the journal even when nothing needs a PATCH (the admin
        /// named it, or a resumed journal must record its last outcomes).</param>
        /// <param name="requestedState">The header's requested state (set).</param>
        /// <param name="undoOf">The journal an undo reverses.</param>
        /// <param name="verb">What the run does, for prompts and the summary.</param>
        /// <param name="note">Said after the plan (-WhatIf) and the summary: what the admin must know
        /// about the journal read (an incomplete one), or null.</param>
        internal void ConfirmAndApply(
            IReadOnlyList<ChangeItem> planned,
            string operation,
            string journalPath,
            bool alwaysJournal,
            PerUserMfaState? requestedState,
            string? undoOf,
            string verb,
            string? note = null)
        {
            var notCovered = planned.Where(p => p.Action == ChangeItem.ActionNotCovered).ToList();
            var sending = planned.Where(p => p.Action != ChangeItem.ActionAlreadyInState && p.Action != ChangeItem.ActionChangedSince && p.Action != ChangeItem.ActionNotCovered).ToList();
            var already = planned.Where(p => p.Action == ChangeItem.ActionAlreadyInState || p.Action == ChangeItem.ActionChangedSince).ToList();
            foreach (var user in notCovered)
            {
                Tally.NotCovered++;
                WriteError(ErrorRecordFactory.FromException(new PerUserMfaException(BulkText.NotCoveredMessage(user), ChangeItem.ActionNotCoveredErrorId, ErrorCategory.SecurityError) { Target = user.Target }));
            }

            // The plan's text, with its duration estimate (one engine job), only when -WhatIf or the
            // prompt shows it: -Force and -Confirm:$false send without asking.
            string? planText = null;
            string PlanText() => planText ??= RequiresCoverage
                ? BulkText.CoverageSplit(planned)
                : BulkText.PlanSummary(planned, EstimateDuration(planned.Count(p => p.NeedsPatch)));
            foreach (var user in planned.Where(p => p.Action == ChangeItem.ActionChangedSince))
            {
                WriteWarning(
                    $"{user.Name}: changed since by someone else; not undone. The run left {StateText.ToDisplay(user.ExpectedState)} and it is " +
                    $"{StateText.ToDisplay(user.CurrentState)} now. To put it back to {StateText.ToDisplay(user.RequestedState)} anyway, add -IncludeChangedSince.");
            }

            if (IsWhatIf())
            {
                foreach (var change in sending)
                {
                    ShouldProcess(change.Name, ActionText(change, verb));
                }

                foreach (var user in already.Where(p => p.Action == ChangeItem.ActionAlreadyInState))
                {
                    WriteVerbose($"{user.Name} is already {StateText.ToDisplay(user.CurrentState)}: nothing to change.");
                }

                WriteHostInformation("What if: " + PlanText() + ". Nothing was changed." + (note == null ? string.Empty : Environment.NewLine + note));
                return;
            }

            List<ChangeItem> approved;
            if (IsExplicitConfirm())
            {
                approved = sending.Where(change => Ask(() => ShouldProcess(change.Name, ActionText(change, verb)))).ToList();
            }
            else if (sending.Count == 0 || Force.IsPresent || IsConfirmTurnedOff() || Ask(() => ShouldProcess(PlanText(), verb)))
            {
                approved = sending;
            }
            else
            {
                approved = new List<ChangeItem>();
            }

            // The run's duration, in the summary, is the time it worked, not the time the prompt waited.
            _clock.Restart();
            Tally.NotConfirmed += sending.Count - approved.Count;
            var nothingToSend = sending.Count == 0;
            if (approved.Count == 0 && !(nothingToSend && alwaysJournal && already.Count + notCovered.Count > 0))
            {
                foreach (var user in already)
                {
                    Tally.Add(user.CurrentState, user.RequestedState, user.CurrentState, user.Action, false);
                    if (PassThru.IsPresent)
                    {
                        WriteObject(OutputFactory.CreateChangeResult(user, null));
                    }
                }

                WriteSummary(verb, null, note);
                return;
            }

            WriteHostInformation("Journal: " + journalPath);
            var pump = StartPump(EngineRequests.ApplyChanges(journalPath, operation, requestedState, undoOf, BoundThrottleLimit(ThrottleLimit), CurrentConnection(), RequiresCoverage));
            pump.Handler = e =>
            {
                switch (e.Type)
                {
                    case EngineEvent.ChangeResult:
                        var result = ChangeResultEvent.From(e);
                        Tally.Add(result);
                        if (PassThru.IsPresent)
                        {
                            WriteObject(OutputFactory.CreateChangeResult(result, journalPath));
                        }

                        return true;
                    default:
                        return CountFailureAndLeaveToPump(e);
                }
            };
            try
            {
                // The users left alone go too: the journal records each one's verdict (the error records are written).
                foreach (var chunk in Chunks(approved.Concat(already).Concat(notCovered).ToList()))
                {
                    pump.PushInput(EngineRequests.Changes(chunk));
                }

                pump.Finish();
            }
            catch (PipelineStoppedException)
            {
                // Ctrl+C: the pipeline takes no more output, the host still shows text.
                Host?.UI?.WriteWarningLine(BulkText.StoppedMessage(journalPath));
                throw;
            }

            WriteSummary(verb, journalPath, note);
        }

        /// <summary>How long <paramref name="writes"/> PATCHes take from now (<c>about 2 min 30 s</c>), from the
        /// write budget this session learnt and the writes already in its window: the engine's estimate, the
        /// same the run's first line gives. Null when nothing is sent.</summary>
        private string? EstimateDuration(int writes)
        {
            if (writes <= 0)
            {
                return null;
            }

            string? duration = null;
            var pump = StartPump(EngineRequests.EstimateWrites(writes));
            pump.Handler = e =>
            {
                if (e.Type != EngineEvent.WriteEstimate)
                {
                    return false;
                }

                duration = WriteEstimateEvent.From(e).Duration;
                return true;
            };
            pump.Run();
            return duration;
        }

        internal void WriteSummary(string verb, string? journalPath, string? note = null) =>
            WriteHostInformation(Tally.Summary(verb, _clock.Elapsed, journalPath) + (note == null ? string.Empty : Environment.NewLine + note));

        internal void WriteHostInformation(string message) =>
            WriteInformation(new HostInformationMessage { Message = message }, new[] { "PSHOST" });

        /// <summary><c>Change per-user MFA state Disabled -> Enforced</c> (per user, for -WhatIf and -Confirm).</summary>
        internal static string ActionText(ChangeItem change, string verb)
        {
            if (change.Action == ChangeItem.ActionCompleted)
            {
                return $"{verb}: record {BulkText.Transition(change.PreviousState, change.CurrentState)} (the interrupted run's change landed; nothing is sent)";
            }

            return $"{verb}: {BulkText.Transition(change.CurrentState ?? change.PreviousState, change.RequestedState)}";
        }

        /// <summary>-WhatIf given, or $WhatIfPreference set by the caller.</summary>
        private bool IsWhatIf()
        {
            if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf))
            {
                return IsTrue(whatIf);
            }

            return IsTrue(GetVariableValue("WhatIfPreference"));
        }

        /// <summary>Asks the host; a host that cannot prompt (pwsh -NonInteractive, a runbook, closed stdin)
        /// fails in its own words (NonInteractive mode, HostFunctionNotImplemented, a null reference), so
        /// the command stops with what to do instead. Nothing has been sent at that point.</summary>
        private bool Ask(Func<bool> shouldProcess)
        {
            try
            {
                return shouldProcess();
            }
            catch (Exception e) when (e is InvalidOperationException || e is System.Management.Automation.Host.HostException
                || e is NotImplementedException || e is NullReferenceException)
            {
                ThrowTerminatingError(ErrorRecordFactory.FromException(new PerUserMfaException(
                    "This host cannot ask for confirmation: add -Force (or -Confirm:$false) to change accounts. Nothing was changed.",
                    "HostCannotConfirm",
                    ErrorCategory.InvalidOperation,
                    e)));
                throw;
            }
        }

        /// <summary>-Confirm (or -Confirm:$true) given explicitly: ask per user.</summary>
        private bool IsExplicitConfirm() =>
            MyInvocation.BoundParameters.TryGetValue("Confirm", out var confirm) && IsTrue(confirm);

        /// <summary>-Confirm:$false: ShouldProcess would say yes without asking.</summary>
        private bool IsConfirmTurnedOff() =>
            MyInvocation.BoundParameters.TryGetValue("Confirm", out var confirm) && !IsTrue(confirm);

        private static bool IsTrue(object? value)
        {
            if (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }

            switch (value)
            {
                case SwitchParameter s:
                    return s.IsPresent;
                case bool b:
                    return b;
                default:
                    return false;
            }
        }

        private static IEnumerable<List<ChangeItem>> Chunks(IReadOnlyList<ChangeItem> items)
        {
            for (var i = 0; i < items.Count; i += PushChunk)
            {
                yield return items.Skip(i).Take(PushChunk).ToList();
            }
        }
    }
}
