using System.Collections.Generic;
using System.Linq;
using PerUserMfa.Json;
using Xunit;

namespace PerUserMfa.Tests.Json
{
    public class JsonReaderTests
    {
        [Theory]
        [InlineData("true", true)]
        [InlineData("false", false)]
        [InlineData(" \t\r\n true \n", true)]
        public void Reads_booleans(string json, bool expected) => Assert.Equal(expected, JsonReader.Parse(json));

        [Fact]
        public void Reads_null() => Assert.Null(JsonReader.Parse("null"));

        [Theory]
        [InlineData("0", 0L)]
        [InlineData("-0", 0L)]
        [InlineData("42", 42L)]
        [InlineData("-17", -17L)]
        [InlineData("9223372036854775807", long.MaxValue)]
        [InlineData("-9223372036854775808", long.MinValue)]
        public void Reads_integers_as_long(string json, long expected)
        {
            var value = JsonReader.Parse(json);
            Assert.IsType<long>(value);
            Assert.Equal(expected, value);
        }

        [Theory]
        [InlineData("1.5", 1.5)]
        [InlineData("-0.25", -0.25)]
        [InlineData("1e3", 1000.0)]
        [InlineData("1E+2", 100.0)]
        [InlineData("2.5e-3", 0.0025)]
        [InlineData("812.5", 812.5)]
        [InlineData("9223372036854775808", 9223372036854775808.0)]
        public void Reads_other_numbers_as_double(string json, double expected)
        {
            var value = JsonReader.Parse(json);
            Assert.IsType<double>(value);
            Assert.Equal(expected, (double)value!, 10);
        }

        [Fact]
        public void Number_parsing_ignores_the_current_culture()
        {
            var previous = System.Globalization.CultureInfo.CurrentCulture;
            try
            {
                System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
                Assert.Equal(1.5, JsonReader.Parse("1.5"));
            }
            finally
            {
                System.Globalization.CultureInfo.CurrentCulture = previous;
            }
        }

        [Theory]
        [InlineData(@"""plain""", "plain")]
        [InlineData(@"""""", "")]
        [InlineData(@"""a\""b""", "a\"b")]
        [InlineData(@"""back\\slash""", "back\\slash")]
        [InlineData(@"""a\/b""", "a/b")]
        [InlineData(@"""\b\f\n\r\t""", "\b\f\n\r\t")]
        [InlineData(@"""\u00e9\u00C9""", "éÉ")]
        [InlineData(@"""\u0000""", "\0")]
        [InlineData(@"""miriam.o'brien@contoso.com""", "miriam.o'brien@contoso.com")]
        [InlineData(@"""alex_fabrikam.com#EXT#@contoso.onmicrosoft.com""", "alex_fabrikam.com#EXT#@contoso.onmicrosoft.com")]
        public void Reads_strings_and_escapes(string json, string expected) => Assert.Equal(expected, JsonReader.Parse(json));

        [Fact]
        public void Reads_raw_non_ascii_text() => Assert.Equal("zoë.åström@contoso.com — 日本", JsonReader.Parse("\"zoë.åström@contoso.com — 日本\""));

        [Fact]
        public void Combines_an_escaped_surrogate_pair_into_one_code_point()
        {
            var value = (string)JsonReader.Parse(@"""\ud83d\ude00!""")!;
            Assert.Equal("😀!", value);
            Assert.Equal(0x1F600, char.ConvertToUtf32(value, 0));
        }

        [Fact]
        public void Keeps_a_raw_surrogate_pair() => Assert.Equal("a😀b", JsonReader.Parse("\"a😀b\""));

        [Fact]
        public void Reads_objects_in_document_order()
        {
            var obj = Assert.IsType<JsonObject>(JsonReader.Parse(@"{ ""type"" : ""userState"", ""b"":1, ""a"":[true,null], ""z"":{} }"));
            Assert.Equal(new[] { "type", "b", "a", "z" }, obj.Keys.ToArray());
            Assert.Equal("userState", obj["type"]);
            Assert.Equal(1L, obj["b"]);
            Assert.Equal(new object?[] { true, null }, Assert.IsType<List<object?>>(obj["a"]));
            Assert.Empty(Assert.IsType<JsonObject>(obj["z"]));
            Assert.Null(obj["missing"]);
            Assert.False(obj.ContainsKey("missing"));
        }

        [Fact]
        public void A_repeated_member_keeps_its_position_and_takes_the_last_value()
        {
            var obj = JsonReader.ParseObject(@"{""a"":1,""b"":2,""a"":3}");
            Assert.Equal(new[] { "a", "b" }, obj.Keys.ToArray());
            Assert.Equal(3L, obj["a"]);
        }

        [Fact]
        public void Reads_nested_structures()
        {
            var value = JsonReader.Parse(@"[[[]],{""x"":[{""y"":[1,2,{""z"":""deep""}]}]}]");
            var outer = Assert.IsType<List<object?>>(value);
            Assert.Equal(2, outer.Count);
            var x = (List<object?>)((JsonObject)outer[1]!)["x"]!;
            var y = (List<object?>)((JsonObject)x[0]!)["y"]!;
            Assert.Equal("deep", ((JsonObject)y[2]!)["z"]);
        }

        [Fact]
        public void Accepts_nesting_up_to_the_limit()
        {
            var depth = JsonReader.MaxDepth;
            var json = new string('[', depth) + new string(']', depth);
            Assert.IsType<List<object?>>(JsonReader.Parse(json));
        }

        [Fact]
        public void Rejects_nesting_beyond_the_limit_without_overflowing_the_stack()
        {
            var json = new string('[', 100_000) + new string(']', 100_000);
            var e = Assert.Throws<JsonFormatException>(() => JsonReader.Parse(json));
            Assert.Contains("nesting", e.Message);
            Assert.Equal(JsonReader.MaxDepth, e.Position);
        }

        [Theory]
        [InlineData("", "unexpected end of input", 0)]
        [InlineData("   ", "unexpected end of input", 3)]
        [InlineData("[1,2,]", "unexpected character ']'", 5)]
        [InlineData("{\"a\":1,}", "expected a member name", 7)]
        [InlineData("{'a':1}", "expected a member name", 1)]
        [InlineData("{\"a\" 1}", "expected ':'", 5)]
        [InlineData("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7)]
        [InlineData("[1 2]", "expected ',' or ']'", 3)]
        [InlineData("\"unterminated", "unterminated string", 13)]
        [InlineData("\"tab\there\"", "control character U+0009", 4)]
        [InlineData("\"bad \\x escape\"", "invalid escape sequence '\\x'", 6)]
        [InlineData("\"\\u12G4\"", "invalid hex digit 'G'", 5)]
        [InlineData("\"\\u12\"", "incomplete \\u escape", 3)]
        [InlineData("01", "leading zero", 1)]
        [InlineData("-", "expected a digit", 1)]
        [InlineData("+1", "unexpected character '+'", 0)]
        [InlineData("1.", "after the decimal point", 2)]
        [InlineData(".5", "unexpected character '.'", 0)]
        [InlineData("1e", "exponent", 2)]
        [InlineData("1e400", "out of range", 0)]
        [InlineData("NaN", "unexpected character 'N'", 0)]
        [InlineData("tru", "expected 'true'", 0)]
        [InlineData("nul", "expected 'null'", 0)]
        [InlineData("true false", "after the end of the value", 5)]
        [InlineData("{} x", "after the end of the value", 3)]
        [InlineData("[1,2", "unexpected end of input inside an array", 4)]
        [InlineData("{\"a\":1", "unexpected end of input inside an object", 6)]
        [InlineData("// comment\n1", "unexpected character '/'", 0)]
        public void Rejects_malformed_input_with_the_reason_and_position(string json, string reason, int position)
        {
            var e = Assert.Throws<JsonFormatException>(() => JsonReader.Parse(json));
            Assert.Contains(reason, e.Message);
            Assert.Equal(position, e.Position);
            Assert.StartsWith($"Invalid JSON at position {position}: ", e.Message);
        }

        [Fact]
        public void ParseObject_rejects_a_value_that_is_not_an_object()
        {
            var e = Assert.Throws<JsonFormatException>(() => JsonReader.ParseObject("[1]"));
            Assert.Contains("expected an object", e.Message);
        }
    }
}
