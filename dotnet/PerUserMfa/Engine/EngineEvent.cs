using System;
using System.Globalization;
using PerUserMfa.Json;

namespace PerUserMfa.Engine
{
    /// <summary>
    /// One event from <c>pumfa_job_next</c> (or the error event of a failed call): a JSON object
    /// whose <c>type</c> says what it is. Field access is lenient (absent or null reads as null) so
    /// new engine fields and new event types never break an older module.
    /// </summary>
    internal sealed class EngineEvent
    {
        public const string UserState = "userState";
        public const string UserReport = "userReport";
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

        public EngineEvent(JsonObject fields)
        {
            Fields = fields ?? throw new ArgumentNullException(nameof(fields));
            Type = GetString("type") ?? string.Empty;
        }

        public string Type { get; }

        public JsonObject Fields { get; }

        public string? Target => GetString("target");

        public string? Message => GetString("message");

        public string? ErrorId => GetString("errorId");

        public string? Category => GetString("category");

        public int? Status => GetInt64("status") is long status && status >= int.MinValue && status <= int.MaxValue ? (int)status : null;

        public string? GraphCode => GetString("graphCode");

        public string? RequestId => GetString("requestId");

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

        /// <summary>A string member; numbers and booleans are given in their invariant text form.</summary>
        public string? GetString(string name)
        {
            switch (Fields[name])
            {
                case null:
                    return null;
                case string s:
                    return s;
                case bool b:
                    return b ? "true" : "false";
                case long l:
                    return l.ToString(CultureInfo.InvariantCulture);
                case double d:
                    return d.ToString("R", CultureInfo.InvariantCulture);
                default:
                    return null;
            }
        }

        public long? GetInt64(string name)
        {
            switch (Fields[name])
            {
                case long l:
                    return l;
                case double d when d >= long.MinValue && d <= long.MaxValue && !double.IsNaN(d):
                    return (long)Math.Round(d);
                default:
                    return null;
            }
        }

        public double? GetDouble(string name)
        {
            switch (Fields[name])
            {
                case long l:
                    return l;
                case double d:
                    return d;
                default:
                    return null;
            }
        }

        public bool? GetBoolean(string name) => Fields[name] is bool b ? b : null;

        public override string ToString() => JsonWriter.Serialize(Fields);
    }
}
