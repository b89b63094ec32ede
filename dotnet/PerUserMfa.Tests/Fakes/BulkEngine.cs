using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using PerUserMfa.Json;

namespace PerUserMfa.Tests.Fakes
{
    /// <summary>A scripted engine for the bulk-change cmdlets: planChanges answers from <see cref="Current"/>,
    /// applyChanges records what it was asked and answers each change as done, estimateWrites answers
    /// <see cref="EstimateDuration"/>, readJournal answers <see cref="JournalEntries"/>.</summary>
    internal sealed class BulkEngine
    {
        /// <summary>State per user (target or id); unknown users are "disabled"; "nobody…" users do not exist.</summary>
        public Dictionary<string, string> Current { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>A fresh folder tests use as -JournalPath.</summary>
        public string Folder { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "pumfa-xunit-" + Guid.NewGuid().ToString("N"))).FullName;

        /// <summary>The changes every applyChanges job received (request, changes).</summary>
        public List<(string Request, List<JsonObject> Changes)> Applied { get; } = new List<(string, List<JsonObject>)>();

        /// <summary>Migration verdict per user (target or id) for a plan that requires coverage; unknown users are Covered.</summary>
        public Dictionary<string, string> Verdicts { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>The journal's header says the run required coverage.</summary>
        public bool JournalRequiresCoverage { get; set; }

        /// <summary>What estimateWrites answers as the duration of the writes it is asked about.</summary>
        public string EstimateDuration { get; set; } = "about a second";

        /// <summary>The writes every estimateWrites job was asked about.</summary>
        public List<long> Estimated { get; } = new List<long>();

        /// <summary>The journalEntry events readJournal answers (JSON).</summary>
        public List<string> JournalEntries { get; } = new List<string>();

        public static Action<FakeEngineJob> Configure(BulkEngine engine) => job =>
        {
            var request = JsonReader.ParseObject(job.Request);
            switch (request["operation"] as string)
            {
                case "planChanges":
                    var state = request["state"] as string;
                    var coverage = request["requireCoverage"] is true;
                    job.OnPush = ids => ids.Select(id => engine.Plan(id, id, state!, null, false, coverage)).ToList();
                    job.OnPushInput = json => Changes(json).Select(c => engine.Plan(
                        (string)c["target"]!, (string)c["id"]!, (string)c["requestedState"]!, c["previousState"] as string, c["sent"] is true, coverage)).ToList();
                    break;
                case "applyChanges":
                    var applied = new List<JsonObject>();
                    engine.Applied.Add((job.Request, applied));
                    job.OnPushInput = json =>
                    {
                        applied.AddRange(Changes(json));
                        return Array.Empty<string>();
                    };
                    job.OnCloseInput = () => applied.Select(Result).ToList();
                    break;
                case "estimateWrites":
                    var writes = Convert.ToInt64(request["writes"], System.Globalization.CultureInfo.InvariantCulture);
                    engine.Estimated.Add(writes);
                    job.OnCloseInput = () => new[]
                    {
                        "{\"type\":\"writeEstimate\",\"writes\":" + writes + ",\"seconds\":1,\"duration\":" + JsonWriter.Serialize(engine.EstimateDuration) +
                            ",\"allowedPerWindow\":2850,\"windowSeconds\":150}",
                    }.ToList();
                    break;
                case "readJournal":
                    job.OnCloseInput = () => new[]
                    {
                        "{\"type\":\"journalHeader\",\"path\":" + JsonWriter.Serialize(request["path"]) + ",\"operation\":\"set\",\"requestedState\":\"enforced\"" +
                            (engine.JournalRequiresCoverage ? ",\"requireCoverage\":true}" : "}"),
                    }.Concat(engine.JournalEntries).ToList();
                    break;
                default:
                    job.OnPush = FakeEngineJob.DefaultUserStates;
                    break;
            }
        };

        public static string Entry(string id, string status, string previous, string requested, string? state, bool sent, bool resume, bool undo) =>
            "{\"type\":\"journalEntry\",\"target\":\"" + id + "@contoso.com\",\"id\":\"" + id + "\",\"userPrincipalName\":\"" + id + "@contoso.com\",\"status\":\"" + status +
            "\",\"previousState\":\"" + previous + "\",\"requestedState\":\"" + requested + "\",\"state\":" + JsonWriter.Serialize(state) +
            ",\"sent\":" + (sent ? "true" : "false") + ",\"resumeNeeded\":" + (resume ? "true" : "false") + ",\"undoNeeded\":" + (undo ? "true" : "false") + "}";

        private static IEnumerable<JsonObject> Changes(string json) =>
            ((IEnumerable<object?>)JsonReader.ParseObject(json)["changes"]!).Cast<JsonObject>();

        private string Plan(string target, string id, string requested, string? previous, bool sent, bool requireCoverage)
        {
            if (target.StartsWith("nobody", StringComparison.Ordinal))
            {
                return FakeEngineJob.ErrorJson("error", target, "UserNotFound", "ObjectNotFound", $"User '{target}' does not exist in this tenant.");
            }

            var current = Current.TryGetValue(target, out var s) ? s : "disabled";
            var action = sent && previous != null && previous != current ? "completed" : current == requested ? "alreadyInState" : "change";
            var verdict = string.Empty;
            if (requireCoverage && action == "change")
            {
                var found = Verdicts.TryGetValue(target, out var v) ? v : "Covered";
                action = found == "Covered" ? "change" : "notCovered";
                verdict = ",\"verdict\":\"" + found + "\",\"verdictReason\":\"Reason for " + found + ".\",\"userType\":\"Member\"";
            }

            var upn = target.Contains('@') ? target : target + "@contoso.com";
            return "{\"type\":\"plannedChange\",\"target\":" + JsonWriter.Serialize(target) + ",\"id\":" + JsonWriter.Serialize(id.Contains('@') ? "id-" + id : id) +
                ",\"userPrincipalName\":" + JsonWriter.Serialize(upn) + ",\"displayName\":\"D\",\"currentState\":\"" + current + "\",\"previousState\":\"" +
                (action == "completed" ? previous : current) + "\",\"requestedState\":\"" + requested + "\",\"action\":\"" + action + "\",\"sent\":" + (sent ? "true" : "false") + verdict + "}";
        }

        private static string Result(JsonObject change)
        {
            var action = change["action"] as string;
            var previous = action == "completed" ? (string)change["previousState"]! : (string)change["currentState"]!;
            var state = action == "change" ? (string)change["requestedState"]! : (string)change["currentState"]!;
            var outcome = action == "alreadyInState" ? "alreadyInState" : "changed";
            return "{\"type\":\"changeResult\",\"target\":" + JsonWriter.Serialize(change["target"]) + ",\"id\":" + JsonWriter.Serialize(change["id"]) +
                ",\"userPrincipalName\":" + JsonWriter.Serialize(change["userPrincipalName"]) + ",\"displayName\":\"D\",\"previousState\":\"" + previous +
                "\",\"requestedState\":" + JsonWriter.Serialize(change["requestedState"]) + ",\"state\":\"" + state + "\",\"changed\":" +
                (previous != state ? "true" : "false") + ",\"outcome\":\"" + outcome + "\"}";
        }
    }
}
