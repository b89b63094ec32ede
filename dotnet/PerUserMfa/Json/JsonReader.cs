using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace PerUserMfa.Json
{
    /// <summary>
    /// A strict RFC 8259 JSON parser for the engine's events. Objects become <see cref="JsonObject"/>,
    /// arrays <see cref="List{T}"/> of object, integers that fit <see cref="long"/> become long, other
    /// numbers double, and <c>true</c>/<c>false</c>/<c>null</c> their .NET values. Anything else
    /// (trailing commas, comments, single quotes, leading zeros, raw control characters in strings,
    /// text after the value) is rejected with a <see cref="JsonFormatException"/> naming the position.
    /// </summary>
    internal sealed class JsonReader
    {
        /// <summary>Deepest nesting of objects and arrays accepted; deeper input is rejected, never a stack overflow.</summary>
        public const int MaxDepth = 64;

        private readonly string _text;
        private int _pos;
        private int _depth;

        private JsonReader(string text)
        {
            _text = text;
        }

        /// <summary>Parses one JSON value that must make up the whole text (surrounding whitespace allowed).</summary>
        public static object? Parse(string text)
        {
            if (text == null)
            {
                throw new ArgumentNullException(nameof(text));
            }

            var reader = new JsonReader(text);
            reader.SkipWhitespace();
            var value = reader.ReadValue();
            reader.SkipWhitespace();
            if (reader._pos < text.Length)
            {
                throw reader.Error("unexpected text after the end of the value");
            }

            return value;
        }

        /// <summary>Parses text that must be one JSON object.</summary>
        public static JsonObject ParseObject(string text)
        {
            var value = Parse(text);
            if (value is JsonObject obj)
            {
                return obj;
            }

            throw new JsonFormatException("expected an object at the top level", 0);
        }

        private JsonFormatException Error(string reason) => new JsonFormatException(reason, _pos);

        private void SkipWhitespace()
        {
            while (_pos < _text.Length)
            {
                var c = _text[_pos];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                {
                    _pos++;
                }
                else
                {
                    break;
                }
            }
        }

        private object? ReadValue()
        {
            if (_pos >= _text.Length)
            {
                throw Error("unexpected end of input, expected a value");
            }

            switch (_text[_pos])
            {
                case '{':
                    return ReadObject();
                case '[':
                    return ReadArray();
                case '"':
                    return ReadString();
                case 't':
                    ExpectLiteral("true");
                    return true;
                case 'f':
                    ExpectLiteral("false");
                    return false;
                case 'n':
                    ExpectLiteral("null");
                    return null;
                default:
                    var c = _text[_pos];
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return ReadNumber();
                    }

                    throw Error($"unexpected character {Describe(c)}, expected a value");
            }
        }

        private void ExpectLiteral(string literal)
        {
            if (string.CompareOrdinal(_text, _pos, literal, 0, literal.Length) != 0)
            {
                throw Error($"invalid literal, expected '{literal}'");
            }

            _pos += literal.Length;
        }

        private void Enter()
        {
            if (++_depth > MaxDepth)
            {
                throw Error($"nesting deeper than {MaxDepth} levels");
            }
        }

        private JsonObject ReadObject()
        {
            Enter();
            _pos++; // '{'
            var obj = new JsonObject();
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                _depth--;
                return obj;
            }

            while (true)
            {
                SkipWhitespace();
                if (Peek() != '"')
                {
                    throw Error(_pos >= _text.Length ? "unexpected end of input, expected a member name" : "expected a member name in double quotes");
                }

                var name = ReadString();
                SkipWhitespace();
                if (Peek() != ':')
                {
                    throw Error("expected ':' after a member name");
                }

                _pos++;
                SkipWhitespace();
                obj.Add(name, ReadValue());
                SkipWhitespace();
                var next = Peek();
                if (next == ',')
                {
                    _pos++;
                    continue;
                }

                if (next == '}')
                {
                    _pos++;
                    _depth--;
                    return obj;
                }

                throw Error(_pos >= _text.Length ? "unexpected end of input inside an object" : "expected ',' or '}' in an object");
            }
        }

        private List<object?> ReadArray()
        {
            Enter();
            _pos++; // '['
            var list = new List<object?>();
            SkipWhitespace();
            if (Peek() == ']')
            {
                _pos++;
                _depth--;
                return list;
            }

            while (true)
            {
                SkipWhitespace();
                list.Add(ReadValue());
                SkipWhitespace();
                var next = Peek();
                if (next == ',')
                {
                    _pos++;
                    continue;
                }

                if (next == ']')
                {
                    _pos++;
                    _depth--;
                    return list;
                }

                throw Error(_pos >= _text.Length ? "unexpected end of input inside an array" : "expected ',' or ']' in an array");
            }
        }

        private int Peek() => _pos < _text.Length ? _text[_pos] : -1;

        private string ReadString()
        {
            _pos++; // opening quote
            StringBuilder? builder = null;
            var runStart = _pos;
            while (true)
            {
                if (_pos >= _text.Length)
                {
                    throw Error("unterminated string");
                }

                var c = _text[_pos];
                if (c == '"')
                {
                    string result;
                    if (builder == null)
                    {
                        result = _text.Substring(runStart, _pos - runStart);
                    }
                    else
                    {
                        builder.Append(_text, runStart, _pos - runStart);
                        result = builder.ToString();
                    }

                    _pos++;
                    return result;
                }

                if (c < 0x20)
                {
                    throw Error($"control character {Describe(c)} in a string must be escaped");
                }

                if (c != '\\')
                {
                    _pos++;
                    continue;
                }

                builder ??= new StringBuilder();
                builder.Append(_text, runStart, _pos - runStart);
                _pos++; // backslash
                if (_pos >= _text.Length)
                {
                    throw Error("unterminated escape sequence");
                }

                var escape = _text[_pos];
                switch (escape)
                {
                    case '"': builder.Append('"'); break;
                    case '\\': builder.Append('\\'); break;
                    case '/': builder.Append('/'); break;
                    case 'b': builder.Append('\b'); break;
                    case 'f': builder.Append('\f'); break;
                    case 'n': builder.Append('\n'); break;
                    case 'r': builder.Append('\r'); break;
                    case 't': builder.Append('\t'); break;
                    case 'u':
                        _pos++;
                        builder.Append(ReadHex4());
                        runStart = _pos;
                        continue;
                    default:
                        throw Error($"invalid escape sequence '\\{escape}'");
                }

                _pos++;
                runStart = _pos;
            }
        }

        /// <summary>Reads the four hex digits after <c>\u</c>. Surrogate pairs written as two escapes
        /// combine naturally because .NET strings are UTF-16.</summary>
        private char ReadHex4()
        {
            if (_pos + 4 > _text.Length)
            {
                throw Error("incomplete \\u escape, expected four hex digits");
            }

            var value = 0;
            for (var i = 0; i < 4; i++)
            {
                var c = _text[_pos + i];
                int digit;
                if (c >= '0' && c <= '9')
                {
                    digit = c - '0';
                }
                else if (c >= 'a' && c <= 'f')
                {
                    digit = c - 'a' + 10;
                }
                else if (c >= 'A' && c <= 'F')
                {
                    digit = c - 'A' + 10;
                }
                else
                {
                    _pos += i;
                    throw Error($"invalid hex digit {Describe(c)} in a \\u escape");
                }

                value = (value << 4) | digit;
            }

            _pos += 4;
            return (char)value;
        }

        private object ReadNumber()
        {
            var start = _pos;
            var integral = true;
            if (_text[_pos] == '-')
            {
                _pos++;
            }

            if (_pos >= _text.Length || !IsDigit(_text[_pos]))
            {
                throw Error("expected a digit in a number");
            }

            if (_text[_pos] == '0')
            {
                _pos++;
                if (_pos < _text.Length && IsDigit(_text[_pos]))
                {
                    throw Error("a number must not have a leading zero");
                }
            }
            else
            {
                SkipDigits();
            }

            if (_pos < _text.Length && _text[_pos] == '.')
            {
                integral = false;
                _pos++;
                if (_pos >= _text.Length || !IsDigit(_text[_pos]))
                {
                    throw Error("expected a digit after the decimal point");
                }

                SkipDigits();
            }

            if (_pos < _text.Length && (_text[_pos] == 'e' || _text[_pos] == 'E'))
            {
                integral = false;
                _pos++;
                if (_pos < _text.Length && (_text[_pos] == '+' || _text[_pos] == '-'))
                {
                    _pos++;
                }

                if (_pos >= _text.Length || !IsDigit(_text[_pos]))
                {
                    throw Error("expected a digit in the exponent");
                }

                SkipDigits();
            }

            var literal = _text.Substring(start, _pos - start);
            if (integral && long.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
            {
                return whole;
            }

            // .NET Framework fails the parse on overflow, .NET returns infinity: reject both.
            if (!double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || double.IsInfinity(number))
            {
                _pos = start;
                throw Error("number is out of range");
            }

            return number;
        }

        private void SkipDigits()
        {
            while (_pos < _text.Length && IsDigit(_text[_pos]))
            {
                _pos++;
            }
        }

        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        private static string Describe(char c) =>
            c < 0x20 || c > 0x7E ? $"U+{(int)c:X4}" : $"'{c}'";
    }
}
