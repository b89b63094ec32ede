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

        /// <summary>Whether applying it sends a PATCH.</summary>
        public bool NeedsPatch => Action == null || Action == ActionChange;

        /// <summary>How messages name the user: the UPN when known, else what the admin gave.</summary>
        public string Name => string.IsNullOrEmpty(UserPrincipalName) ? (string.IsNullOrEmpty(Target) ? Id : Target) : UserPrincipalName!;

        public static ChangeItem FromPlannedChange(EngineEvent planned) => new ChangeItem
        {
            Target = planned.GetString("target") ?? string.Empty,
            Id = planned.GetString("id") ?? string.Empty,
            UserPrincipalName = planned.GetString("userPrincipalName"),
            DisplayName = planned.GetString("displayName"),
            PreviousState = planned.GetString("previousState"),
            RequestedState = planned.GetString("requestedState") ?? string.Empty,
            Sent = planned.GetBoolean("sent") ?? false,
            Action = planned.GetString("action") ?? ActionChange,
            CurrentState = planned.GetString("currentState"),
        };
    }
}
