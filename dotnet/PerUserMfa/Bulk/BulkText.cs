using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using PerUserMfa.Output;

namespace PerUserMfa.Bulk
{
    /// <summary>The words a bulk change shows the admin: the plan in the confirmation prompt (with the
    /// engine's duration estimate), and the summary at the end.</summary>
    internal static class BulkText
    {
        public static string Count(int n, string one, string many) =>
            n.ToString("N0", CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many);

        /// <summary><c>Disabled -> Enforced</c>.</summary>
        public static string Transition(string? from, string? to) =>
            (StateText.ToDisplay(from) ?? "unknown") + " -> " + (StateText.ToDisplay(to) ?? "unknown");

        /// <summary>The elapsed time of a finished run: <c>12.3 s</c>, <c>7 min 31 s</c>.</summary>
        public static string Elapsed(TimeSpan elapsed) =>
            elapsed.TotalSeconds < 60
                ? elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s"
                : $"{(int)elapsed.TotalMinutes} min {elapsed.Seconds} s";

        /// <summary>The plan in one line, for the once-per-run confirmation:
        /// <c>42 accounts: 30 Disabled -> Enforced, 12 Enabled -> Enforced (about 2 s); 5 already in the requested state</c>.
        /// <paramref name="duration"/> is the engine's estimate for the PATCHes (<c>about 2 s</c>), from the write
        /// budget the session learnt: the same the run's first line says.</summary>
        public static string PlanSummary(IReadOnlyCollection<ChangeItem> planned, string? duration)
        {
            var sending = planned.Where(p => p.NeedsPatch).ToList();
            var completed = planned.Count(p => p.Action == ChangeItem.ActionCompleted);
            var already = planned.Count(p => p.Action == ChangeItem.ActionAlreadyInState);
            var text = new StringBuilder(Count(sending.Count, "account", "accounts"));
            if (sending.Count > 0)
            {
                text.Append(": ").Append(string.Join(", ", Transitions(sending.Select(p => ((string?)(p.CurrentState ?? p.PreviousState), (string?)p.RequestedState)))));
                if (!string.IsNullOrEmpty(duration))
                {
                    text.Append(" (").Append(duration).Append(')');
                }
            }

            if (completed > 0)
            {
                text.Append("; ").Append(Count(completed, "account", "accounts")).Append(" already changed by the interrupted run");
            }

            var changedSince = planned.Count(p => p.Action == ChangeItem.ActionChangedSince);
            if (changedSince > 0)
            {
                text.Append("; ").Append(Count(changedSince, "account", "accounts")).Append(" changed since by someone else, not undone");
            }

            if (already > 0)
            {
                text.Append("; ").Append(Count(already, "account", "accounts")).Append(" already in the requested state");
            }

            return text.ToString();
        }

        /// <summary>The verdicts -RequireCoverage leaves per-user MFA on for, in the order the split names them.</summary>
        private static readonly string[] SkippedVerdicts = { "PartiallyCovered", "NotCovered", "Unknown" };

        /// <summary>The plan of a run that requires coverage, split by verdict, for the confirmation and -WhatIf:
        /// <c>250 Covered will be Disabled; 40 PartiallyCovered, 12 NotCovered, 10 Unknown skipped</c>, then what
        /// needs no change (<c>; 5 already in the requested state</c>).</summary>
        public static string CoverageSplit(IReadOnlyCollection<ChangeItem> planned)
        {
            var covered = planned.Count(p => p.NeedsPatch);
            var skipped = planned.Where(p => p.Action == ChangeItem.ActionNotCovered).ToList();
            var text = new StringBuilder();
            text.Append(covered.ToString("N0", CultureInfo.InvariantCulture)).Append(" Covered will be Disabled; ");
            text.Append(string.Join(", ", SkippedVerdicts.Select(v =>
                skipped.Count(p => string.Equals(p.Verdict ?? "Unknown", v, StringComparison.Ordinal)).ToString("N0", CultureInfo.InvariantCulture) + " " + v)));
            text.Append(" skipped");
            var completed = planned.Count(p => p.Action == ChangeItem.ActionCompleted);
            if (completed > 0)
            {
                text.Append("; ").Append(Count(completed, "account", "accounts")).Append(" already changed by the interrupted run");
            }

            var already = planned.Count(p => p.Action == ChangeItem.ActionAlreadyInState);
            if (already > 0)
            {
                text.Append("; ").Append(Count(already, "account", "accounts")).Append(" already in the requested state");
            }

            return text.ToString();
        }

        /// <summary>The error message for a user -RequireCoverage leaves alone (the engine words the same
        /// case the same way when a verdict changes between the plan and the change).</summary>
        public static string NotCoveredMessage(ChangeItem user) =>
            $"'{user.Name}' is {user.Verdict ?? "Unknown"}, so -RequireCoverage leaves per-user MFA as it is: {user.VerdictReason} " +
            $"Test-PerUserMfaMigration -UserId '{user.Name.Replace("'", "''")}' shows the gaps.";

        /// <summary>What Ctrl+C during the changes leaves behind, and the command that finishes the run.</summary>
        public static string StoppedMessage(string journalPath) =>
            $"Stopped. The changes sent so far are in the journal '{journalPath}'. To finish the run: " +
            $"Set-PerUserMfaState -ResumeJournal '{journalPath.Replace("'", "''")}'";

        /// <summary>What a journal without its end record means for an undo.</summary>
        public static string IncompleteForUndo(string journalPath) =>
            $"The journal '{journalPath}' is incomplete: it has no record that its run ended, so the run was stopped " +
            "(or lines at the journal's end were lost). The undo puts back the accounts the journal records as changed, " +
            "or as sent without an outcome; an account the run changed after its last record cannot be undone from this " +
            $"journal. To finish the run first, use Set-PerUserMfaState -ResumeJournal '{journalPath.Replace("'", "''")}', then undo.";
        /// <summary><c>30 Disabled -> Enforced</c>, most frequent first.</summary>
        public static IEnumerable<string> Transitions(IEnumerable<(string? From, string? To)> changes) =>
            changes
                .GroupBy(c => Transition(c.From, c.To))
                .OrderByDescending(g => g.Count())
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => g.Count().ToString("N0", CultureInfo.InvariantCulture) + " " + g.Key);
    }
}
