using System;
using System.Collections.Generic;
using System.Globalization;
using PerUserMfa.Json;

namespace PerUserMfa.Engine
{
    /// <summary>
    /// Typed reads of one event's members, for the event types in <c>EventTypes.cs</c> and nothing else.
    /// Reads are lenient (absent or null reads as null; a number asked for as text gives its invariant
    /// text) so new engine fields never break an older module. The contract test reads the engine's
    /// fixtures in checking mode, which records every member read and every value of an unexpected
    /// JSON type, so a member renamed on either side shows up as unread or missing.
    /// </summary>
    internal sealed class EventFields
    {
        private readonly JsonObject _fields;
        private readonly HashSet<string>? _read;
        private readonly List<string>? _problems;

        public EventFields(JsonObject fields)
            : this(fields, checking: false)
        {
        }

        private EventFields(JsonObject fields, bool checking)
        {
            _fields = fields ?? throw new ArgumentNullException(nameof(fields));
            if (checking)
            {
                _read = new HashSet<string>(StringComparer.Ordinal);
                _problems = new List<string>();
            }
        }

        /// <summary>Members read so far (checking mode; empty otherwise).</summary>
        public IReadOnlyCollection<string> Read => (IReadOnlyCollection<string>?)_read ?? Array.Empty<string>();

        /// <summary>Members absent, null or of another JSON type than read as (checking mode; empty otherwise).</summary>
        public IReadOnlyList<string> Problems => (IReadOnlyList<string>?)_problems ?? Array.Empty<string>();

        /// <summary>A reader that records what is read and what does not match (the contract test).</summary>
        public static EventFields Checking(JsonObject fields) => new EventFields(fields, checking: true);

        /// <summary>Whether the member is present (optional columns, such as the report's MFA sign-ins).</summary>
        public bool Has(string name)
        {
            _read?.Add(name);
            return _fields.ContainsKey(name);
        }

        /// <summary>A string member; numbers and booleans are given in their invariant text form.</summary>
        public string? String(string name)
        {
            var value = Get(name, "a string", v => v is string);
            switch (value)
            {
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

        /// <summary>An integer member; a fractional number is rounded.</summary>
        public long? Int64(string name)
        {
            switch (Get(name, "an integer", v => v is long))
            {
                case long l:
                    return l;
                case double d when d >= long.MinValue && d <= long.MaxValue && !double.IsNaN(d):
                    return (long)Math.Round(d);
                default:
                    return null;
            }
        }

        public double? Double(string name)
        {
            switch (Get(name, "a number", v => v is long || v is double))
            {
                case long l:
                    return l;
                case double d:
                    return d;
                default:
                    return null;
            }
        }

        public bool? Boolean(string name) => Get(name, "a boolean", v => v is bool) is bool b ? b : null;

        /// <summary>An array of strings (non-string items are left out); empty when absent.</summary>
        public IReadOnlyList<string> Strings(string name)
        {
            var value = Get(name, "an array of strings", v => v is IEnumerable<object?> items && !(v is JsonObject) && !(v is string));
            var list = new List<string>();
            if (value is IEnumerable<object?> items && !(value is JsonObject))
            {
                foreach (var item in items)
                {
                    if (item is string text)
                    {
                        list.Add(text);
                    }
                }
            }

            return list;
        }

        private object? Get(string name, string expected, Func<object, bool> matches)
        {
            var present = _fields.TryGetValue(name, out var value);
            if (_read != null)
            {
                _read.Add(name);
                if (!present)
                {
                    _problems!.Add($"'{name}' is missing");
                }
                else if (value == null)
                {
                    _problems!.Add($"'{name}' is null (give the engine's example a value, so its type is checked)");
                }
                else if (!matches(value))
                {
                    _problems!.Add($"'{name}' is {JsonTypeOf(value)}, read as {expected}");
                }
            }

            return value;
        }

        private static string JsonTypeOf(object value) => value switch
        {
            string _ => "a string",
            bool _ => "a boolean",
            long _ => "an integer",
            double _ => "a number",
            JsonObject _ => "an object",
            _ => "an array",
        };
    }
}
