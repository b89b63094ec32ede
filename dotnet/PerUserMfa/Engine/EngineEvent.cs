using System;
using PerUserMfa.Json;

namespace PerUserMfa.Engine
{
    /// <summary>
    /// One event from <c>pumfa_job_next</c> (or the error event of a failed call): a JSON object
    /// whose <c>type</c> says what it is. Its members are read through the typed events of
    /// <c>EventTypes.cs</c> (<see cref="UserStateEvent.From"/>, ...), leniently, so new engine fields
    /// and new event types never break an older module.
    /// </summary>
    internal sealed class EngineEvent
    {
        public const string UserState = "userState";
        public const string UserReport = "userReport";
        public const string MigrationCheck = "migrationCheck";
        public const string ChangeResult = "changeResult";
        public const string Error = "error";
        public const string Fatal = "fatal";
        public const string Progress = "progress";
        public const string Verbose = "verbose";
        public const string Warning = "warning";
        public const string Information = "information";
        public const string PlannedChange = "plannedChange";
        public const string JournalHeader = "journalHeader";
        public const string JournalEntry = "journalEntry";
        public const string WriteEstimate = "writeEstimate";

        public EngineEvent(JsonObject fields)
        {
            Fields = fields ?? throw new ArgumentNullException(nameof(fields));
            Type = fields["type"] as string ?? string.Empty;
        }

        public string Type { get; }

        public JsonObject Fields { get; }

        /// <summary>Parses one event. Text that is not a JSON object with a string <c>type</c> is a
        /// protocol error (<see cref="JsonFormatException"/>).</summary>
        public static EngineEvent Parse(string json)
        {
            var fields = JsonReader.ParseObject(json);
            if (!(fields["type"] is string type) || type.Length == 0)
            {
                throw new JsonFormatException("an engine event must have a string member 'type'", 0);
            }

            return new EngineEvent(fields);
        }

        /// <summary>An error event made on the C# side, for failures the engine could not describe.</summary>
        public static EngineEvent CreateError(string errorId, string category, string message, string? target = null)
        {
            var fields = new JsonObject
            {
                { "type", Error },
                { "target", target },
                { "errorId", errorId },
                { "category", category },
                { "message", message },
            };
            return new EngineEvent(fields);
        }

        public override string ToString() => JsonWriter.Serialize(Fields);
    }
}
