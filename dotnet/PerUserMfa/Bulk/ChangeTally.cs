using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using PerUserMfa.Engine;
using PerUserMfa.Output;

namespace PerUserMfa.Bulk
{
    /// <summary>Counts a bulk change's results for the summary at the end.</summary>
    internal sealed class ChangeTally
    {
        private readonly List<(string? From, string? To)> _changed = new List<(string?, string?)>();
        private readonly List<string?> _already = new List<string?>();
        private readonly Dictionary<string, int> _now = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

        public int Changed => _changed.Count;

        public int AlreadyInState => _already.Count;

        /// <summary>Graph accepted the PATCH and still reports the previous state.</summary>
        public int Unchanged { get; private set; }

        /// <summary>Error records written (plan and apply).</summary>
        public int Failed { get; set; }

        /// <summary>Users the admin said No to (-Confirm).</summary>
        public int NotConfirmed { get; set; }

        /// <summary>An undo left them alone: someone else changed them since the run it undoes.</summary>
        public int ChangedSince { get; private set; }

        /// <summary>-RequireCoverage left them alone: their migration verdict was not Covered.</summary>
        public int NotCovered { get; set; }

        /// <summary>Input that named an account already given (its UPN and its object id): changed once.</summary>
        public int Duplicates { get; set; }

        /// <summary>Graph ended them in another state than requested (enabled → enforced for users with MFA methods).</summary>
        public int OtherThanRequested => _otherThanRequested.Count;

        /// <summary>Who ended in another state than requested, and in which: the summary names them.</summary>
        private readonly List<(string Name, string State)> _otherThanRequested = new List<(string, string)>();

        public int Total => Changed + AlreadyInState + Unchanged + Failed + NotConfirmed + ChangedSince + NotCovered;

        /// <summary>Counts a <c>changeResult</c> event.</summary>
        public void Add(ChangeResultEvent result) => Add(
            result.PreviousState,
            result.RequestedState,
            result.State,
            result.Outcome,
            result.Changed ?? false,
            result.UserPrincipalName ?? result.Id);

        public void Add(string? previous, string? requested, string? state, string? outcome, bool changed, string? name = null)
        {
            if (outcome == ChangeItem.ActionChangedSince)
            {
                ChangedSince++;
                Count(state);
                return;
            }

            if (outcome == "alreadyInState" || (outcome == null && !changed && string.Equals(previous, requested, StringComparison.OrdinalIgnoreCase)))
            {
                _already.Add(state);
            }
            else if (changed)
            {
                _changed.Add((previous, state));
            }
            else
            {
                Unchanged++;
            }

            Count(state);
            if (state != null && requested != null && !string.Equals(state, requested, StringComparison.OrdinalIgnoreCase))
            {
                _otherThanRequested.Add((name ?? "(unnamed)", state));
            }
        }

        private void Count(string? state)
        {
            if (state != null)
            {
                _now.TryGetValue(state, out var n);
                _now[state] = n + 1;
            }
        }

        /// <summary>The summary the cmdlet writes at the end (information stream).</summary>
        public string Summary(string verb, TimeSpan elapsed, string? journalPath)
        {
            var text = new StringBuilder();
            text.Append(verb).Append(": ").Append(BulkText.Count(Total, "account", "accounts")).Append(" in ").Append(BulkText.Elapsed(elapsed)).AppendLine();
            Line(text, "Changed", Changed, string.Join(", ", BulkText.Transitions(_changed)));
            Line(text, "Already in state", AlreadyInState, string.Join(", ", Group(_already)));
            if (Unchanged > 0)
            {
                Line(text, "Accepted, unchanged", Unchanged, "Graph accepted the change but still reports the previous state");
            }

            if (NotConfirmed > 0)
            {
                Line(text, "Not confirmed", NotConfirmed, "left as they were");
            }

            if (ChangedSince > 0)
            {
                Line(text, "Changed since", ChangedSince, "changed by someone else after the run; not undone (-IncludeChangedSince undoes them)");
            }

            if (NotCovered > 0)
            {
                Line(text, "Not covered", NotCovered, "per-user MFA left as it was: each is an error record (NotCovered) naming the verdict and its reason");
            }

            if (Duplicates > 0)
            {
                Line(text, "Given twice", Duplicates, "another spelling of an account already given; changed once");
            }

            Line(text, "Failed", Failed, Failed > 0 ? "each is an error record naming the user and the cause" : string.Empty);
            if (_now.Count > 0)
            {
                text.Append("  ").Append("By state now:".PadRight(19)).Append(string.Join(", ", Group(_now.SelectMany(kv => Enumerable.Repeat<string?>(kv.Key, kv.Value))))).AppendLine();
            }

            if (OtherThanRequested > 0)
            {
                const int shown = 10;
                var names = string.Join(", ", _otherThanRequested.Take(shown).Select(o => $"{o.Name} ({StateText.ToDisplay(o.State)})"));
                text.Append("  ").Append(BulkText.Count(OtherThanRequested, "account", "accounts"))
                    .Append(" ended in another state than requested: ").Append(names)
                    .Append(OtherThanRequested > shown ? $" and {OtherThanRequested - shown:N0} more" : string.Empty)
                    .Append(" (Graph enforces MFA for users who already registered methods; State shows what Graph reports).")
                    .AppendLine();
            }

            text.Append(journalPath == null ? "No journal was written: nothing was changed." : "Journal: " + journalPath);
            return text.ToString();
        }

        private static void Line(StringBuilder text, string label, int count, string detail)
        {
            text.Append("  ").Append((label + ":").PadRight(19)).Append(count.ToString("N0", CultureInfo.InvariantCulture).PadLeft(6));
            if (count > 0 && detail.Length > 0)
            {
                text.Append("  (").Append(detail).Append(')');
            }

            text.AppendLine();
        }

        private static IEnumerable<string> Group(IEnumerable<string?> states) =>
            states
                .GroupBy(s => StateText.ToDisplay(s) ?? "unknown")
                .OrderByDescending(g => g.Count())
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => g.Key + " " + g.Count().ToString("N0", CultureInfo.InvariantCulture));
    }
}
