using PerUserMfa.Engine;

namespace PerUserMfa.Bulk
{
    /// <summary>
    /// One user's change as the engine plans and applies it (a <c>plannedChange</c> event, or an item
    /// of <c>{"changes":[...]}</c>). States are Graph's lower-case wire values.
    /// </summary>
    internal sealed class ChangeItem
    {
        public const string ActionChange = "change";
        public const string ActionAlreadyInState = "alreadyInState";
        public const string ActionCompleted = "completed";
        public const string ActionChangedSince = "changedSince";

        /// <summary>-RequireCoverage: the user's migration verdict is not Covered, so nothing is sent.</summary>
        public const string ActionNotCovered = "notCovered";

        /// <summary>The error id (after <c>PerUserMfa.</c>) of a user -RequireCoverage leaves alone, the engine's too.</summary>
        public const string ActionNotCoveredErrorId = "NotCovered";

        public string Target { get; set; } = string.Empty;

        public string Id { get; set; } = string.Empty;

        public string? UserPrincipalName { get; set; }

        public string? DisplayName { get; set; }

        /// <summary>The state before the change.</summary>
        public string? PreviousState { get; set; }

        public string RequestedState { get; set; } = string.Empty;

        /// <summary>The journal shows this user's PATCH may already have gone out (resumed runs).</summary>
        public bool Sent { get; set; }

        /// <summary>The plan's decision: <see cref="ActionChange"/>, <see cref="ActionAlreadyInState"/> or <see cref="ActionCompleted"/>.</summary>
        public string? Action { get; set; }

        /// <summary>The state Graph reported when planning.</summary>
        public string? CurrentState { get; set; }

        /// <summary>An undo: the state the undone run left the user in; a user found in another state
        /// was changed since by someone else and is left alone. Null: no such check.</summary>
        public string? ExpectedState { get; set; }

        /// <summary>-RequireCoverage: the user's migration verdict (Covered, PartiallyCovered, NotCovered, Unknown).</summary>
        public string? Verdict { get; set; }

        /// <summary>-RequireCoverage: the verdict's reason, one sentence.</summary>
        public string? VerdictReason { get; set; }

        /// <summary>-RequireCoverage: the user's type (the apply step works the verdict out again).</summary>
        public string? UserType { get; set; }

        /// <summary>Whether applying it sends a PATCH.</summary>
        public bool NeedsPatch => Action == null || Action == ActionChange;

        /// <summary>How messages name the user: the UPN when known, else what the admin gave.</summary>
        public string Name => string.IsNullOrEmpty(UserPrincipalName) ? (string.IsNullOrEmpty(Target) ? Id : Target) : UserPrincipalName!;

        public static ChangeItem FromPlannedChange(PlannedChangeEvent planned) => new ChangeItem
        {
            Target = planned.Target ?? string.Empty,
            Id = planned.Id ?? string.Empty,
            UserPrincipalName = planned.UserPrincipalName,
            DisplayName = planned.DisplayName,
            PreviousState = planned.PreviousState,
            RequestedState = planned.RequestedState ?? string.Empty,
            Sent = planned.Sent ?? false,
            Action = planned.Action ?? ActionChange,
            CurrentState = planned.CurrentState,
            ExpectedState = planned.ExpectedState,
            Verdict = planned.Verdict,
            VerdictReason = planned.VerdictReason,
            UserType = planned.UserType,
        };
    }
}
