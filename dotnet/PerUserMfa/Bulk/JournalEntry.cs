using PerUserMfa.Engine;

namespace PerUserMfa.Bulk
{
    /// <summary>One user's latest status in a journal (a <c>journalEntry</c> event).</summary>
    internal sealed class JournalEntry
    {
        public const string StatusPending = "pending";

        public string Target { get; set; } = string.Empty;

        public string Id { get; set; } = string.Empty;

        public string? UserPrincipalName { get; set; }

        public string? DisplayName { get; set; }

        /// <summary><c>pending</c>, <c>changed</c>, <c>unchanged</c>, <c>alreadyInState</c> or <c>failed</c>.</summary>
        public string Status { get; set; } = StatusPending;

        public string? PreviousState { get; set; }

        public string RequestedState { get; set; } = string.Empty;

        /// <summary>The state read back after the change.</summary>
        public string? State { get; set; }

        public bool Sent { get; set; }

        public bool ResumeNeeded { get; set; }

        public bool UndoNeeded { get; set; }

        /// <summary>A run with -RequireCoverage: the verdict the user's change (or skip) was decided on, and its reason.</summary>
        public string? Verdict { get; set; }

        public string? VerdictReason { get; set; }

        public static JournalEntry FromEvent(JournalEntryEvent entry) => new JournalEntry
        {
            Target = entry.Target ?? string.Empty,
            Id = entry.Id ?? string.Empty,
            UserPrincipalName = entry.UserPrincipalName,
            DisplayName = entry.DisplayName,
            Status = entry.Status ?? StatusPending,
            PreviousState = entry.PreviousState,
            RequestedState = entry.RequestedState ?? string.Empty,
            State = entry.State,
            Sent = entry.Sent ?? false,
            ResumeNeeded = entry.ResumeNeeded ?? false,
            UndoNeeded = entry.UndoNeeded ?? false,
            Verdict = entry.Verdict,
            VerdictReason = entry.VerdictReason,
        };

        /// <summary>What a resumed run plans for this user: the journal's change, with what it knows
        /// about a PATCH that may already have gone out.</summary>
        public ChangeItem ToResumeChange() => new ChangeItem
        {
            Target = Target,
            Id = Id,
            UserPrincipalName = UserPrincipalName,
            DisplayName = DisplayName,
            PreviousState = PreviousState,
            RequestedState = RequestedState,
            Sent = Sent,
            Action = null,
        };

        /// <summary>What an undo plans for this user: back to the state before the change, only while
        /// the user is still in the state the run left them in (unless <paramref name="includeChangedSince"/>).</summary>
        public ChangeItem ToUndoChange(bool includeChangedSince) => new ChangeItem
        {
            Target = Target,
            Id = Id,
            UserPrincipalName = UserPrincipalName,
            DisplayName = DisplayName,
            PreviousState = State ?? RequestedState,
            RequestedState = PreviousState ?? string.Empty,
            Sent = false,
            Action = null,
            ExpectedState = includeChangedSince ? null : State ?? RequestedState,
        };
    }
}
