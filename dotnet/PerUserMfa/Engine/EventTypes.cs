using System;
using System.Collections.Generic;

namespace PerUserMfa.Engine
{
    // The events a job sends (docs/ARCHITECTURE.md §1), one small type per kind. This file is the
    // only place that names the events' JSON members: each type's Read maps them to properties, and
    // the rest of the module uses the properties. The contract test (EventContractTests) reads the
    // engine's checked-in examples (docs/events/*.json, generated from the Rust types) through
    // EventTypes.Readers and fails on a member either side lacks. States are Graph's lower-case
    // wire values.

    /// <summary>Every event kind the module reads, by its <c>type</c>, with the reader for it.</summary>
    internal static class EventTypes
    {
        public static readonly IReadOnlyDictionary<string, Func<EventFields, object>> Readers =
            new Dictionary<string, Func<EventFields, object>>(StringComparer.Ordinal)
            {
                [EngineEvent.UserState] = UserStateEvent.Read,
                [EngineEvent.UserReport] = UserReportEvent.Read,
                [EngineEvent.MigrationCheck] = MigrationCheckEvent.Read,
                [EngineEvent.ChangeResult] = ChangeResultEvent.Read,
                [EngineEvent.PlannedChange] = PlannedChangeEvent.Read,
                [EngineEvent.JournalHeader] = JournalHeaderEvent.Read,
                [EngineEvent.JournalEntry] = JournalEntryEvent.Read,
                [EngineEvent.Progress] = ProgressEvent.Read,
                [EngineEvent.WriteEstimate] = WriteEstimateEvent.Read,
                [EngineEvent.Verbose] = MessageEvent.Read,
                [EngineEvent.Warning] = MessageEvent.Read,
                [EngineEvent.Information] = MessageEvent.Read,
                [EngineEvent.Error] = ErrorEvent.Read,
                [EngineEvent.Fatal] = ErrorEvent.Read,
            };
    }

    /// <summary>What every per-user event carries: the user as given and who Graph says it is.</summary>
    internal abstract class UserEvent
    {
        /// <summary>The user as the admin gave it, or the id when the engine listed the user.</summary>
        public string? Target { get; private set; }

        public string? Id { get; private set; }

        public string? UserPrincipalName { get; private set; }

        public string? DisplayName { get; private set; }

        /// <summary>Reads the user's members into <paramref name="e"/>.</summary>
        protected static T WithUser<T>(T e, EventFields f)
            where T : UserEvent
        {
            e.Target = f.String("target");
            e.Id = f.String("id");
            e.UserPrincipalName = f.String("userPrincipalName");
            e.DisplayName = f.String("displayName");
            return e;
        }
    }

    /// <summary><c>userState</c>: one user's per-user MFA state (Get-PerUserMfaState).</summary>
    internal sealed class UserStateEvent : UserEvent
    {
        public string? PerUserMfaState { get; private set; }

        public static UserStateEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static UserStateEvent Read(EventFields f) => WithUser(new UserStateEvent
        {
            PerUserMfaState = f.String("perUserMfaState"),
        }, f);
    }

    /// <summary><c>migrationCheck</c>: one account's migration-readiness verdict (Test-PerUserMfaMigration).</summary>
    internal sealed class MigrationCheckEvent : UserEvent
    {
        public string? PerUserMfaState { get; private set; }

        /// <summary><c>Covered</c>, <c>PartiallyCovered</c>, <c>NotCovered</c> or <c>Unknown</c>.</summary>
        public string? Verdict { get; private set; }

        public IReadOnlyList<string> CoveredBy { get; private set; } = Array.Empty<string>();

        public IReadOnlyList<string> ReportOnly { get; private set; } = Array.Empty<string>();

        public IReadOnlyList<string> Gaps { get; private set; } = Array.Empty<string>();

        public string? Reason { get; private set; }

        /// <summary>-Evaluate only (null otherwise): one sentence per What-If scenario.</summary>
        public IReadOnlyList<string>? WhatIf { get; private set; }

        /// <summary>The sign-in evidence columns are present (-IncludeSignIns); each is null when the sign-in
        /// logs could not be read.</summary>
        public bool HasSignIns { get; private set; }

        public long? MfaSignIns { get; private set; }

        public long? PerUserOnlyMfaSignIns { get; private set; }

        public string? LastPerUserOnlyMfaSignIn { get; private set; }

        public IReadOnlyList<string> PerUserOnlyApps { get; private set; } = Array.Empty<string>();

        public string? LastConditionalAccessMfaSignIn { get; private set; }

        public static MigrationCheckEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static MigrationCheckEvent Read(EventFields f)
        {
            var check = new MigrationCheckEvent
            {
                PerUserMfaState = f.String("perUserMfaState"),
                Verdict = f.String("verdict"),
                CoveredBy = f.Strings("coveredBy"),
                ReportOnly = f.Strings("reportOnly"),
                Gaps = f.Strings("gaps"),
                Reason = f.String("reason"),
                WhatIf = f.Has("whatIf") ? f.Strings("whatIf") : null,
            };
            if (f.Has("mfaSignIns"))
            {
                check.HasSignIns = true;
                check.MfaSignIns = f.Int64("mfaSignIns");
                check.PerUserOnlyMfaSignIns = f.Int64("perUserOnlyMfaSignIns");
                check.LastPerUserOnlyMfaSignIn = f.String("lastPerUserOnlyMfaSignIn");
                check.PerUserOnlyApps = f.Strings("perUserOnlyApps");
                check.LastConditionalAccessMfaSignIn = f.String("lastConditionalAccessMfaSignIn");
            }

            return WithUser(check, f);
        }
    }

    /// <summary><c>userReport</c>: one user's row of the detailed report (Get-PerUserMfaState -Detailed,
    /// Export-PerUserMfaReport). Dates are ISO 8601 UTC text; a column whose source Graph refused is null.</summary>
    internal sealed class UserReportEvent : UserEvent
    {
        public string? PerUserMfaState { get; private set; }

        public string? UserType { get; private set; }

        public bool? AccountEnabled { get; private set; }

        public bool? IsLicensed { get; private set; }

        public bool? IsAdmin { get; private set; }

        public bool? IsMfaRegistered { get; private set; }

        public bool? IsMfaCapable { get; private set; }

        public string? MethodsRegistered { get; private set; }

        public string? DefaultMfaMethod { get; private set; }

        public string? PreferredMfaMethod { get; private set; }

        public string? LastSignIn { get; private set; }

        public string? LastSuccessfulSignIn { get; private set; }

        public long? DaysSinceLastSignIn { get; private set; }

        public long? DaysSinceLastSuccessfulSignIn { get; private set; }

        public string? SignInSessionsValidFrom { get; private set; }

        public string? PasswordLastChanged { get; private set; }

        public long? PasswordAgeDays { get; private set; }

        public string? PasswordPolicies { get; private set; }

        public bool? PasswordNeverExpires { get; private set; }

        /// <summary>Whether the MFA sign-in columns were asked for (-IncludeMfaSignIns): only then are they sent.</summary>
        public bool HasMfaSignIns { get; private set; }

        public string? LastMfaSignIn { get; private set; }

        public long? DaysSinceLastMfaSignIn { get; private set; }

        /// <summary>Whether the methods column was asked for (-IncludeMethodDetails): only then is it sent.</summary>
        public bool HasAuthenticationMethods { get; private set; }

        public string? AuthenticationMethods { get; private set; }

        public static UserReportEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static UserReportEvent Read(EventFields f)
        {
            var row = WithUser(new UserReportEvent
            {
                PerUserMfaState = f.String("perUserMfaState"),
                UserType = f.String("userType"),
                AccountEnabled = f.Boolean("accountEnabled"),
                IsLicensed = f.Boolean("isLicensed"),
                IsAdmin = f.Boolean("isAdmin"),
                IsMfaRegistered = f.Boolean("isMfaRegistered"),
                IsMfaCapable = f.Boolean("isMfaCapable"),
                MethodsRegistered = f.String("methodsRegistered"),
                DefaultMfaMethod = f.String("defaultMfaMethod"),
                PreferredMfaMethod = f.String("preferredMfaMethod"),
                LastSignIn = f.String("lastSignIn"),
                LastSuccessfulSignIn = f.String("lastSuccessfulSignIn"),
                DaysSinceLastSignIn = f.Int64("daysSinceLastSignIn"),
                DaysSinceLastSuccessfulSignIn = f.Int64("daysSinceLastSuccessfulSignIn"),
                SignInSessionsValidFrom = f.String("signInSessionsValidFrom"),
                PasswordLastChanged = f.String("passwordLastChanged"),
                PasswordAgeDays = f.Int64("passwordAgeDays"),
                PasswordPolicies = f.String("passwordPolicies"),
                PasswordNeverExpires = f.Boolean("passwordNeverExpires"),
                HasMfaSignIns = f.Has("lastMfaSignIn"),
                HasAuthenticationMethods = f.Has("authenticationMethods"),
            }, f);
            if (row.HasMfaSignIns)
            {
                row.LastMfaSignIn = f.String("lastMfaSignIn");
                row.DaysSinceLastMfaSignIn = f.Int64("daysSinceLastMfaSignIn");
            }

            if (row.HasAuthenticationMethods)
            {
                row.AuthenticationMethods = f.String("authenticationMethods");
            }

            return row;
        }
    }

    /// <summary><c>changeResult</c>: one user's change as applied and read back (applyChanges).</summary>
    internal sealed class ChangeResultEvent : UserEvent
    {
        public string? PreviousState { get; private set; }

        public string? RequestedState { get; private set; }

        /// <summary>The state read back after the change (Graph may end elsewhere than asked).</summary>
        public string? State { get; private set; }

        public bool? Changed { get; private set; }

        /// <summary>How the journal records it: <c>changed</c>, <c>unchanged</c>, <c>alreadyInState</c>.</summary>
        public string? Outcome { get; private set; }

        public static ChangeResultEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static ChangeResultEvent Read(EventFields f) => WithUser(new ChangeResultEvent
        {
            PreviousState = f.String("previousState"),
            RequestedState = f.String("requestedState"),
            State = f.String("state"),
            Changed = f.Boolean("changed"),
            Outcome = f.String("outcome"),
        }, f);
    }

    /// <summary><c>plannedChange</c>: what applying would do for one user, from the state read just now
    /// (planChanges). The same members make an item of <c>{"changes":[...]}</c>.</summary>
    internal sealed class PlannedChangeEvent : UserEvent
    {
        /// <summary>The state Graph reports now.</summary>
        public string? CurrentState { get; private set; }

        /// <summary>The state before the change (for a resumed user whose PATCH landed: the state before it).</summary>
        public string? PreviousState { get; private set; }

        public string? RequestedState { get; private set; }

        /// <summary><c>change</c>, <c>alreadyInState</c>, <c>completed</c>, <c>changedSince</c> or <c>notCovered</c>.</summary>
        public string? Action { get; private set; }

        /// <summary>The journal shows a PATCH for this user may already have gone out.</summary>
        public bool? Sent { get; private set; }

        /// <summary>An undo: the state the undone run left the user in (a user found elsewhere is <c>changedSince</c>).</summary>
        public string? ExpectedState { get; private set; }

        /// <summary>-RequireCoverage: the user's migration verdict (<c>Covered</c>, <c>PartiallyCovered</c>, <c>NotCovered</c>, <c>Unknown</c>).</summary>
        public string? Verdict { get; private set; }

        /// <summary>-RequireCoverage: the verdict's reason, one sentence.</summary>
        public string? VerdictReason { get; private set; }

        /// <summary>-RequireCoverage: the user's type, which the apply step's verdict needs again.</summary>
        public string? UserType { get; private set; }

        public static PlannedChangeEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static PlannedChangeEvent Read(EventFields f) => WithUser(new PlannedChangeEvent
        {
            CurrentState = f.String("currentState"),
            PreviousState = f.String("previousState"),
            RequestedState = f.String("requestedState"),
            Action = f.String("action"),
            Sent = f.Boolean("sent"),
            ExpectedState = f.String("expectedState"),
            Verdict = f.String("verdict"),
            VerdictReason = f.String("verdictReason"),
            UserType = f.String("userType"),
        }, f);
    }

    /// <summary><c>journalHeader</c>: a journal's first line (readJournal).</summary>
    internal sealed class JournalHeaderEvent
    {
        public string? Path { get; private set; }

        public string? Format { get; private set; }

        /// <summary><c>set</c> or <c>undo</c>.</summary>
        public string? Operation { get; private set; }

        public string? Created { get; private set; }

        public string? RequestedState { get; private set; }

        public string? UndoOf { get; private set; }

        public long? Lines { get; private set; }

        public long? Resumes { get; private set; }

        /// <summary>The latest run recorded its end; false: it was stopped, or lines at the end were lost.</summary>
        public bool? Complete { get; private set; }

        public string? TenantId { get; private set; }

        public string? AppId { get; private set; }

        public string? Account { get; private set; }

        /// <summary>The run changed only users whose migration verdict was Covered (-RequireCoverage); a resume keeps the rule.</summary>
        public bool? RequireCoverage { get; private set; }

        public static JournalHeaderEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static JournalHeaderEvent Read(EventFields f) => new JournalHeaderEvent
        {
            Path = f.String("path"),
            Format = f.String("format"),
            Operation = f.String("operation"),
            Created = f.String("created"),
            RequestedState = f.String("requestedState"),
            UndoOf = f.String("undoOf"),
            Lines = f.Int64("lines"),
            Resumes = f.Int64("resumes"),
            Complete = f.Boolean("complete"),
            TenantId = f.String("tenantId"),
            AppId = f.String("appId"),
            Account = f.String("account"),
            RequireCoverage = f.Boolean("requireCoverage"),
        };
    }

    /// <summary><c>journalEntry</c>: one user's latest status in a journal (readJournal).</summary>
    internal sealed class JournalEntryEvent : UserEvent
    {
        /// <summary><c>pending</c>, <c>changed</c>, <c>unchanged</c>, <c>alreadyInState</c>, <c>failed</c>, <c>changedSince</c> or <c>notCovered</c>.</summary>
        public string? Status { get; private set; }

        public string? PreviousState { get; private set; }

        public string? RequestedState { get; private set; }

        /// <summary>The state read back after the change.</summary>
        public string? State { get; private set; }

        public bool? Sent { get; private set; }

        public string? Error { get; private set; }

        public string? Time { get; private set; }

        public long? Line { get; private set; }

        public bool? ResumeNeeded { get; private set; }

        public bool? UndoNeeded { get; private set; }

        /// <summary>-RequireCoverage: the verdict the change (or the skip) was decided on.</summary>
        public string? Verdict { get; private set; }

        public string? VerdictReason { get; private set; }

        public static JournalEntryEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static JournalEntryEvent Read(EventFields f) => WithUser(new JournalEntryEvent
        {
            Status = f.String("status"),
            PreviousState = f.String("previousState"),
            RequestedState = f.String("requestedState"),
            State = f.String("state"),
            Sent = f.Boolean("sent"),
            Error = f.String("error"),
            Time = f.String("time"),
            Line = f.Int64("line"),
            ResumeNeeded = f.Boolean("resumeNeeded"),
            UndoNeeded = f.Boolean("undoNeeded"),
            Verdict = f.String("verdict"),
            VerdictReason = f.String("verdictReason"),
        }, f);
    }

    /// <summary><c>progress</c>: the job's progress bar. <see cref="Total"/> is null while unknown.</summary>
    internal sealed class ProgressEvent
    {
        public string? Activity { get; private set; }

        public long? Completed { get; private set; }

        public long? Total { get; private set; }

        public double? RatePerSecond { get; private set; }

        public long? SecondsRemaining { get; private set; }

        public string? Status { get; private set; }

        public static ProgressEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static ProgressEvent Read(EventFields f) => new ProgressEvent
        {
            Activity = f.String("activity"),
            Completed = f.Int64("completed"),
            Total = f.Int64("total"),
            RatePerSecond = f.Double("ratePerSecond"),
            SecondsRemaining = f.Int64("secondsRemaining"),
            Status = f.String("status"),
        };
    }

    /// <summary><c>writeEstimate</c>: how long a bulk change's PATCHes take from now, paced to the write
    /// budget the session learnt (the confirmation prompt shows it).</summary>
    internal sealed class WriteEstimateEvent
    {
        public long? Writes { get; private set; }

        public long? Seconds { get; private set; }

        /// <summary><c>about 2 min 30 s</c>.</summary>
        public string? Duration { get; private set; }

        public long? AllowedPerWindow { get; private set; }

        public long? WindowSeconds { get; private set; }

        public static WriteEstimateEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static WriteEstimateEvent Read(EventFields f) => new WriteEstimateEvent
        {
            Writes = f.Int64("writes"),
            Seconds = f.Int64("seconds"),
            Duration = f.String("duration"),
            AllowedPerWindow = f.Int64("allowedPerWindow"),
            WindowSeconds = f.Int64("windowSeconds"),
        };
    }

    /// <summary><c>verbose</c>, <c>warning</c> and <c>information</c>: a message for one stream.</summary>
    internal sealed class MessageEvent
    {
        public string? Message { get; private set; }

        public static MessageEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static MessageEvent Read(EventFields f) => new MessageEvent { Message = f.String("message") };
    }

    /// <summary><c>error</c> (one user failed) and <c>fatal</c> (the job cannot go on), and the error
    /// event a failed native call writes.</summary>
    internal sealed class ErrorEvent
    {
        /// <summary>The user as given; empty for a job-wide error.</summary>
        public string? Target { get; private set; }

        /// <summary>A stable identifier (<c>UserNotFound</c>, <c>PermissionDenied</c>, ...).</summary>
        public string? ErrorId { get; private set; }

        /// <summary>The name of a PowerShell <c>ErrorCategory</c> member.</summary>
        public string? Category { get; private set; }

        public string? Message { get; private set; }

        /// <summary>Graph's HTTP status, when Graph answered.</summary>
        public int? Status { get; private set; }

        public string? GraphCode { get; private set; }

        public string? RequestId { get; private set; }

        public static ErrorEvent From(EngineEvent e) => Read(new EventFields(e.Fields));

        internal static ErrorEvent Read(EventFields f) => new ErrorEvent
        {
            Target = f.String("target"),
            ErrorId = f.String("errorId"),
            Category = f.String("category"),
            Message = f.String("message"),
            Status = f.Int64("status") is long status && status >= int.MinValue && status <= int.MaxValue ? (int)status : null,
            GraphCode = f.String("graphCode"),
            RequestId = f.String("requestId"),
        };
    }
}
