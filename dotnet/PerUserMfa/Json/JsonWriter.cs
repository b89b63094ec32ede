using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace PerUserMfa.Json
{
    /// <summary>
    /// Writes compact JSON. Strings escape <c>"</c>, <c>\</c> and control characters; other
    /// characters are written as they are (the text is sent as UTF-8). A lone surrogate cannot be
    /// encoded as UTF-8, so it is written as U+FFFD. Numbers use the invariant culture.
    /// Misuse (a value where a name is due, unbalanced ends) throws <see cref="InvalidOperationException"/>.
    /// </summary>
    internal sealed class JsonWriter
    {
        private enum Scope
        {
            Object,
            Array,
        }

        private readonly StringBuilder _out = new StringBuilder();
        private readonly Stack<Scope> _scopes = new Stack<Scope>();
        private bool _needsComma;
        private bool _afterName;
        private bool _rootWritten;

        /// <summary>Serializes a value: null, bool, string, integer and floating-point types, enums (as their
        /// name), <see cref="JsonObject"/>, <see cref="IDictionary"/> with string keys, or any other
        /// <see cref="IEnumerable"/> as an array.</summary>
        public static string Serialize(object? value)
        {
            var writer = new JsonWriter();
            writer.WriteValue(value);
            return writer.ToString();
        }

        /// <summary>The JSON written so far; throws if an object or array is still open.</summary>
        public override string ToString()
        {
            if (_scopes.Count != 0)
            {
                throw new InvalidOperationException("The JSON document has an object or array that was not ended.");
            }

            return _out.ToString();
        }

        public JsonWriter WriteStartObject()
        {
            BeforeValue();
            _out.Append('{');
            _scopes.Push(Scope.Object);
            _needsComma = false;
            return this;
        }

        public JsonWriter WriteEndObject()
        {
            End(Scope.Object, '}');
            return this;
        }

        public JsonWriter WriteStartArray()
        {
            BeforeValue();
            _out.Append('[');
            _scopes.Push(Scope.Array);
            _needsComma = false;
            return this;
        }

        public JsonWriter WriteEndArray()
        {
            End(Scope.Array, ']');
            return this;
        }

        public JsonWriter WritePropertyName(string name)
        {
            if (name == null)
            {
                throw new ArgumentNullException(nameof(name));
            }

            if (_scopes.Count == 0 || _scopes.Peek() != Scope.Object || _afterName)
            {
                throw new InvalidOperationException("A property name can only be written inside an object, before its value.");
            }

            if (_needsComma)
            {
                _out.Append(',');
            }

            AppendString(_out, name);
            _out.Append(':');
            _afterName = true;
            return this;
        }

        public JsonWriter WriteString(string? value)
        {
            if (value == null)
            {
                return WriteNull();
            }

            BeforeValue();
            AppendString(_out, value);
            AfterValue();
            return this;
        }

        public JsonWriter WriteNumber(long value)
        {
            BeforeValue();
            _out.Append(value.ToString(CultureInfo.InvariantCulture));
            AfterValue();
            return this;
        }

        public JsonWriter WriteNumber(double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "JSON has no representation for NaN or infinity.");
            }

            BeforeValue();
            _out.Append(value.ToString("R", CultureInfo.InvariantCulture));
            AfterValue();
            return this;
        }

        public JsonWriter WriteBoolean(bool value)
        {
            BeforeValue();
            _out.Append(value ? "true" : "false");
            AfterValue();
            return this;
        }

        public JsonWriter WriteNull()
        {
            BeforeValue();
            _out.Append("null");
            AfterValue();
            return this;
        }

        public JsonWriter WriteProperty(string name, string? value) => WritePropertyName(name).WriteString(value);

        public JsonWriter WriteProperty(string name, long value) => WritePropertyName(name).WriteNumber(value);

        public JsonWriter WriteProperty(string name, bool value) => WritePropertyName(name).WriteBoolean(value);

        /// <summary>Writes any supported value (see <see cref="Serialize"/>).</summary>
        public JsonWriter WriteValue(object? value)
        {
            switch (value)
            {
                case null:
                    return WriteNull();
                case string s:
                    return WriteString(s);
                case bool b:
                    return WriteBoolean(b);
                case char c:
                    return WriteString(c.ToString());
                case Enum e:
                    return WriteString(e.ToString());
                case sbyte or byte or short or ushort or int or uint or long:
                    return WriteNumber(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                case ulong u:
                    return u <= long.MaxValue ? WriteNumber((long)u) : WriteNumber((double)u);
                case float or double or decimal:
                    return WriteNumber(Convert.ToDouble(value, CultureInfo.InvariantCulture));
                case JsonObject obj:
                    WriteStartObject();
                    foreach (var member in obj)
                    {
                        WritePropertyName(member.Key);
                        WriteValue(member.Value);
                    }

                    return WriteEndObject();
                case IDictionary dictionary:
                    WriteStartObject();
                    foreach (DictionaryEntry entry in dictionary)
                    {
                        WritePropertyName(entry.Key as string ?? throw new ArgumentException("Only string keys can be written as JSON member names.", nameof(value)));
                        WriteValue(entry.Value);
                    }

                    return WriteEndObject();
                case IEnumerable sequence:
                    WriteStartArray();
                    foreach (var item in sequence)
                    {
                        WriteValue(item);
                    }

                    return WriteEndArray();
                default:
                    throw new ArgumentException($"A value of type {value.GetType().FullName} cannot be written as JSON.", nameof(value));
            }
        }

        /// <summary>Appends <paramref name="value"/> as a quoted, escaped JSON string.</summary>
        internal static void AppendString(StringBuilder builder, string value)
        {
            builder.Append('"');
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                switch (c)
                {
                    case '"': builder.Append("\\\""); break;
                    case '\\': builder.Append("\\\\"); break;
                    case '\n': builder.Append("\\n"); break;
                    case '\r': builder.Append("\\r"); break;
                    case '\t': builder.Append("\\t"); break;
                    case '\b': builder.Append("\\b"); break;
                    case '\f': builder.Append("\\f"); break;
                    default:
                        if (c < 0x20)
                        {
                            builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                        {
                            builder.Append(c).Append(value[i + 1]);
                            i++;
                        }
                        else if (char.IsSurrogate(c))
                        {
                            builder.Append('\uFFFD');
                        }
                        else
                        {
                            builder.Append(c);
                        }

                        break;
                }
            }

            builder.Append('"');
        }

        private void BeforeValue()
        {
            if (_scopes.Count == 0)
            {
                if (_rootWritten)
                {
                    throw new InvalidOperationException("A JSON document holds exactly one top-level value.");
                }

                _rootWritten = true;
                return;
            }

            if (_scopes.Peek() == Scope.Object)
            {
                if (!_afterName)
                {
                    throw new InvalidOperationException("A value inside an object must follow a property name.");
                }

                _afterName = false;
                return;
            }

            if (_needsComma)
            {
                _out.Append(',');
            }
        }

        private void AfterValue()
        {
            _needsComma = true;
        }

        private void End(Scope scope, char closing)
        {
            if (_scopes.Count == 0 || _scopes.Peek() != scope || _afterName)
            {
                throw new InvalidOperationException($"There is no open {(scope == Scope.Object ? "object" : "array")} to end here.");
            }

            _scopes.Pop();
            _out.Append(closing);
            _needsComma = true;
        }
    }
}
