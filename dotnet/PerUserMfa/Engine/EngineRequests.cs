using System;
using System.Collections.Generic;
using PerUserMfa.Json;

namespace PerUserMfa.Engine
{
    /// <summary>Who is signed in, as a journal records it: tenant, app (client id) and account.</summary>
    internal sealed class JournalConnection
    {
        public string? TenantId { get; set; }

        public string? AppId { get; set; }

        public string? Account { get; set; }
    }

    /// <summary>The JSON documents the module sends to the engine (docs/ARCHITECTURE.md §1).</summary>
    internal static class EngineRequests
    {
        public const string ScopeLicensedMembers = "licensedMembers";
        public const string ScopeAll = "all";
        public const string ScopeInput = "input";
        public const string ScopePerUserMfa = "perUserMfa";

        /// <summary><c>{"operation":"getStates","scope":...}</c>, with <c>throttleLimit</c> when given.</summary>
        public static string GetStates(string scope, int? throttleLimit)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("operation", "getStates")
                .WriteProperty("scope", scope);
            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
        }

        /// <summary><c>{"operation":"getStates","scope":...,"report":{"mfaSignIns":...,"methodDetails":...,"signInDays":...}}</c>:
        /// Get-PerUserMfaState -Detailed.</summary>
        public static string GetReport(string scope, bool mfaSignIns, bool methodDetails, int signInDays, int? throttleLimit)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("operation", "getStates")
                .WriteProperty("scope", scope)
                .WritePropertyName("report").WriteStartObject()
                .WriteProperty("mfaSignIns", mfaSignIns)
                .WriteProperty("methodDetails", methodDetails)
                .WriteProperty("signInDays", signInDays)
                .WriteEndObject();
            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
        }

        /// <summary><c>{"operation":"testMigration","scope":...}</c> (Test-PerUserMfaMigration): scope
        /// <c>perUserMfa</c> (accounts with per-user MFA Enabled or Enforced), <c>all</c> or <c>input</c>;
        /// <c>"evaluate":true</c> adds Graph's What-If for PartiallyCovered and Unknown users; <paramref name="signInDays"/>
        /// adds the sign-in evidence of that many days (<c>"includeSignIns":true</c>).</summary>
        public static string TestMigration(string scope, int? throttleLimit, bool evaluate = false, int? signInDays = null)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("operation", "testMigration")
                .WriteProperty("scope", scope);
            if (evaluate)
            {
                writer.WriteProperty("evaluate", true);
            }

            if (signInDays is int days)
            {
                writer.WriteProperty("includeSignIns", true).WriteProperty("signInDays", days);
            }

            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
        }

        public const string JournalSet = "set";
        public const string JournalUndo = "undo";
        public const string JournalResume = "resume";

        /// <summary><c>{"operation":"planChanges","state":...}</c>: reads only. <paramref name="state"/> is
        /// the state for pushed user ids; pushed changes carry their own. <paramref name="journalUsers"/>:
        /// the changes of a journal (resume, undo) about to be pushed, so the progress bar says it re-reads
        /// their states.</summary>
        public static string PlanChanges(PerUserMfaState? state, int? throttleLimit, bool requireCoverage = false, int? journalUsers = null)
        {
            var writer = new JsonWriter().WriteStartObject().WriteProperty("operation", "planChanges");
            if (state.HasValue)
            {
                writer.WriteProperty("state", ToWireState(state.Value));
            }

            if (requireCoverage)
            {
                writer.WriteProperty("requireCoverage", true);
            }

            if (journalUsers.HasValue)
            {
                writer.WriteProperty("journalUsers", journalUsers.Value);
            }

            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
        }

        /// <summary><c>{"operation":"estimateWrites","writes":N}</c>: how long N PATCHes take from now, from
        /// the write budget the session learnt (one <c>writeEstimate</c> event; nothing is sent to Graph).</summary>
        public static string EstimateWrites(int writes) =>
            new JsonWriter().WriteStartObject()
                .WriteProperty("operation", "estimateWrites")
                .WriteProperty("writes", writes)
                .WriteEndObject()
                .ToString();

        /// <summary><c>{"operation":"applyChanges","journalPath":...,"journalOperation":"set"|"undo"|"resume",...}</c>,
        /// with the connection's <c>tenantId</c>, <c>appId</c> and <c>account</c> for the journal's header.</summary>
        public static string ApplyChanges(string journalPath, string journalOperation, PerUserMfaState? requestedState, string? undoOf, int? throttleLimit, JournalConnection? connection = null, bool requireCoverage = false)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("operation", "applyChanges")
                .WriteProperty("journalPath", journalPath)
                .WriteProperty("journalOperation", journalOperation);
            if (connection != null)
            {
                writer.WriteProperty("tenantId", connection.TenantId)
                    .WriteProperty("appId", connection.AppId)
                    .WriteProperty("account", connection.Account);
            }

            if (requestedState.HasValue)
            {
                writer.WriteProperty("requestedState", ToWireState(requestedState.Value));
            }

            if (undoOf != null)
            {
                writer.WriteProperty("undoOf", undoOf);
            }

            if (requireCoverage)
            {
                writer.WriteProperty("requireCoverage", true);
            }

            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
        }

        /// <summary><c>{"operation":"readJournal","path":...,"tenantId":...}</c>: a journal of another tenant
        /// than the connection's is refused.</summary>
        public static string ReadJournal(string path, string? tenantId = null)
        {
            var writer = new JsonWriter().WriteStartObject().WriteProperty("operation", "readJournal").WriteProperty("path", path);
            if (tenantId != null)
            {
                writer.WriteProperty("tenantId", tenantId);
            }

            return writer.WriteEndObject().ToString();
        }

        /// <summary><c>{"changes":[{...}]}</c> for <c>pumfa_job_push</c> into planChanges and applyChanges jobs.</summary>
        public static string Changes(IEnumerable<Bulk.ChangeItem> changes)
        {
            var writer = new JsonWriter().WriteStartObject().WritePropertyName("changes").WriteStartArray();
            foreach (var change in changes)
            {
                writer.WriteStartObject()
                    .WriteProperty("target", change.Target)
                    .WriteProperty("id", change.Id)
                    .WriteProperty("userPrincipalName", change.UserPrincipalName)
                    .WriteProperty("displayName", change.DisplayName)
                    .WriteProperty("previousState", change.PreviousState)
                    .WriteProperty("requestedState", change.RequestedState)
                    .WriteProperty("sent", change.Sent);
                if (change.Action != null)
                {
                    writer.WriteProperty("action", change.Action);
                }

                if (change.CurrentState != null)
                {
                    writer.WriteProperty("currentState", change.CurrentState);
                }

                if (change.ExpectedState != null)
                {
                    writer.WriteProperty("expectedState", change.ExpectedState);
                }

                if (change.Verdict != null)
                {
                    writer.WriteProperty("verdict", change.Verdict)
                        .WriteProperty("verdictReason", change.VerdictReason)
                        .WriteProperty("userType", change.UserType);
                }

                writer.WriteEndObject();
            }

            return writer.WriteEndArray().WriteEndObject().ToString();
        }

        /// <summary><c>{"userIds":[...]}</c> for <c>pumfa_job_push</c>.</summary>
        public static string UserIds(IEnumerable<string> userIds)
        {
            var writer = new JsonWriter().WriteStartObject().WritePropertyName("userIds").WriteStartArray();
            foreach (var id in userIds)
            {
                writer.WriteString(id ?? throw new ArgumentException("A user id must not be null.", nameof(userIds)));
            }

            return writer.WriteEndArray().WriteEndObject().ToString();
        }

        /// <summary>Graph's value for a state: <c>disabled</c>, <c>enabled</c>, <c>enforced</c>.</summary>
        public static string ToWireState(PerUserMfaState state) => state switch
        {
            PerUserMfaState.Disabled => "disabled",
            PerUserMfaState.Enabled => "enabled",
            PerUserMfaState.Enforced => "enforced",
            _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Not a per-user MFA state."),
        };

        private static JsonWriter WriteThrottleLimit(JsonWriter writer, int? throttleLimit) =>
            throttleLimit.HasValue ? writer.WriteProperty("throttleLimit", throttleLimit.Value) : writer;
    }
}
