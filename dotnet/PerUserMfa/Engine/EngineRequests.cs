using System;
using System.Collections.Generic;
using PerUserMfa.Json;

namespace PerUserMfa.Engine
{
    /// <summary>The JSON documents the module sends to the engine (docs/ARCHITECTURE.md §1).</summary>
    internal static class EngineRequests
    {
        public const string ScopeLicensedMembers = "licensedMembers";
        public const string ScopeAll = "all";
        public const string ScopeInput = "input";

        public const string AuthAccessToken = "accessToken";

        /// <summary><c>{"graphEndpoint":...,"auth":{"kind":...},"userAgent":...}</c> for <c>pumfa_session_open</c>.</summary>
        public static string SessionOptions(string graphEndpoint, string authKind, string userAgent)
        {
            return new JsonWriter()
                .WriteStartObject()
                .WriteProperty("graphEndpoint", graphEndpoint)
                .WritePropertyName("auth").WriteStartObject().WriteProperty("kind", authKind).WriteEndObject()
                .WriteProperty("userAgent", userAgent)
                .WriteEndObject()
                .ToString();
        }

        /// <summary><c>{"operation":"getStates","scope":...}</c>, with <c>throttleLimit</c> when given.</summary>
        public static string GetStates(string scope, int? throttleLimit)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("operation", "getStates")
                .WriteProperty("scope", scope);
            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
        }

        /// <summary><c>{"operation":"setStates","state":"enabled"}</c> (Graph's lower-case value), with <c>throttleLimit</c> when given.</summary>
        public static string SetStates(PerUserMfaState state, int? throttleLimit)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("operation", "setStates")
                .WriteProperty("state", ToWireState(state));
            return WriteThrottleLimit(writer, throttleLimit).WriteEndObject().ToString();
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
