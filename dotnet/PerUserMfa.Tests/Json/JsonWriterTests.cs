using System;
using System.Collections.Generic;
using System.Globalization;
using PerUserMfa.Json;
using Xunit;

namespace PerUserMfa.Tests.Json
{
    public class JsonWriterTests
    {
        [Theory]
        [InlineData("plain", "\"plain\"")]
        [InlineData("", "\"\"")]
        [InlineData("quote\"backslash\\", "\"quote\\\"backslash\\\\\"")]
        [InlineData("line\nfeed\rtab\tbs\bff\f", "\"line\\nfeed\\rtab\\tbs\\bff\\f\"")]
        [InlineData("\u0001\u001f\0", "\"\\u0001\\u001f\\u0000\"")]
        [InlineData("slash/kept", "\"slash/kept\"")]
        [InlineData("zoë.åström — 日本", "\"zoë.åström — 日本\"")]
        [InlineData("miriam.o'brien@contoso.com", "\"miriam.o'brien@contoso.com\"")]
        [InlineData("a😀b", "\"a😀b\"")]
        [InlineData("\u007f\u2028", "\"\u007f\u2028\"")]
        public void Escapes_strings(string value, string expected) => Assert.Equal(expected, JsonWriter.Serialize(value));

        [Fact]
        public void Replaces_lone_surrogates_which_UTF8_cannot_carry()
        {
            // Built from chars: attribute arguments cannot hold a lone surrogate.
            var high = ((char)0xD83D).ToString();
            var low = ((char)0xDE00).ToString();
            Assert.Equal("\"\uFFFD\"", JsonWriter.Serialize(high));
            Assert.Equal("\"a\uFFFDb\"", JsonWriter.Serialize("a" + low + "b"));
            Assert.Equal("\"\uFFFD\uFFFD\"", JsonWriter.Serialize(low + high));
            Assert.Equal("\"x\uFFFD\"", JsonWriter.Serialize("x" + high));
            Assert.Equal("\"" + high + low + "\"", JsonWriter.Serialize(high + low));
        }

        [Theory]
        [InlineData("")]
        [InlineData("a\"b\\c/d\n\r\t\b\f\u0000\u001f")]
        [InlineData("zoë😀日本#EXT#@")]
        public void Round_trips_through_the_reader(string value)
        {
            var json = JsonWriter.Serialize(new JsonObject { { "s", value } });
            Assert.Equal(value, JsonReader.ParseObject(json)["s"]);
        }

        [Fact]
        public void Writes_numbers_in_the_invariant_culture()
        {
            var previous = CultureInfo.CurrentCulture;
            try
            {
                CultureInfo.CurrentCulture = new CultureInfo("de-DE");
                Assert.Equal("[1.5,-2,1000000,0.1,-9223372036854775808]", JsonWriter.Serialize(new object[] { 1.5, -2, 1_000_000L, 0.1, long.MinValue }));
            }
            finally
            {
                CultureInfo.CurrentCulture = previous;
            }
        }

        [Theory]
        [InlineData(double.NaN)]
        [InlineData(double.PositiveInfinity)]
        public void Refuses_numbers_JSON_cannot_hold(double value) =>
            Assert.Throws<ArgumentOutOfRangeException>(() => JsonWriter.Serialize(value));

        [Fact]
        public void Writes_nested_objects_and_arrays_in_order()
        {
            var doc = new JsonObject
            {
                { "z", 1 },
                { "a", new List<object?> { true, false, null, "x", new JsonObject(), new List<object?>() } },
                { "m", new JsonObject { { "inner", new[] { "p", "q" } } } },
            };
            Assert.Equal("{\"z\":1,\"a\":[true,false,null,\"x\",{},[]],\"m\":{\"inner\":[\"p\",\"q\"]}}", JsonWriter.Serialize(doc));
        }

        [Fact]
        public void Writes_enums_by_name() => Assert.Equal("\"Enforced\"", JsonWriter.Serialize(PerUserMfaState.Enforced));

        [Fact]
        public void The_streaming_api_places_commas_and_colons()
        {
            var json = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("a", "x")
                .WritePropertyName("b").WriteStartArray().WriteNumber(1).WriteStartObject().WriteEndObject().WriteStartArray().WriteEndArray().WriteEndArray()
                .WriteProperty("c", true)
                .WritePropertyName("d").WriteNull()
                .WriteEndObject()
                .ToString();
            Assert.Equal("{\"a\":\"x\",\"b\":[1,{},[]],\"c\":true,\"d\":null}", json);
        }

        [Fact]
        public void Misuse_is_an_error_not_bad_json()
        {
            Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartObject().WriteString("no name"));
            Assert.Throws<InvalidOperationException>(() => new JsonWriter().WritePropertyName("outside"));
            Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartArray().WriteEndObject());
            Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartObject().WritePropertyName("a").WriteEndObject());
            Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartObject().ToString());
            Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteNumber(1).WriteNumber(2));
        }
    }
}
