using PerUserMfa.Engine;
using PerUserMfa.Json;
using Xunit;

namespace PerUserMfa.Tests.Engine
{
    public class EngineEventTests
    {
        [Fact]
        public void Parses_an_error_event_and_its_fields()
        {
            var e = EngineEvent.Parse(@"{""type"":""error"",""target"":""nobody@contoso.com"",""errorId"":""UserNotFound"",""category"":""ObjectNotFound"",""message"":""m"",""status"":404,""graphCode"":""Request_ResourceNotFound"",""requestId"":""abc""}");
            Assert.Equal(EngineEvent.Error, e.Type);
            Assert.Equal("nobody@contoso.com", e.Target);
            Assert.Equal("UserNotFound", e.ErrorId);
            Assert.Equal("ObjectNotFound", e.Category);
            Assert.Equal("m", e.Message);
            Assert.Equal(404, e.Status);
            Assert.Equal("Request_ResourceNotFound", e.GraphCode);
            Assert.Equal("abc", e.RequestId);
        }

        [Fact]
        public void Absent_and_null_fields_read_as_null()
        {
            var e = EngineEvent.Parse(@"{""type"":""progress"",""total"":null}");
            Assert.Null(e.GetInt64("total"));
            Assert.Null(e.GetInt64("completed"));
            Assert.Null(e.GetString("status"));
            Assert.Null(e.GetBoolean("changed"));
            Assert.Null(e.Status);
        }

        [Fact]
        public void Numbers_read_as_either_integer_or_double()
        {
            var e = EngineEvent.Parse(@"{""type"":""progress"",""completed"":120,""ratePerSecond"":812.5,""secondsRemaining"":1.6}");
            Assert.Equal(120L, e.GetInt64("completed"));
            Assert.Equal(120.0, e.GetDouble("completed"));
            Assert.Equal(812.5, e.GetDouble("ratePerSecond"));
            Assert.Equal(2L, e.GetInt64("secondsRemaining"));
            Assert.Equal("120", e.GetString("completed"));
        }

        [Fact]
        public void Unknown_event_types_parse_so_they_can_be_ignored()
        {
            var e = EngineEvent.Parse(@"{""type"":""somethingNew"",""payload"":{""x"":[1]}}");
            Assert.Equal("somethingNew", e.Type);
        }

        [Theory]
        [InlineData("[]")]
        [InlineData(@"{""message"":""no type""}")]
        [InlineData(@"{""type"":7}")]
        [InlineData(@"{""type"":""""}")]
        [InlineData(@"{""type"":""userState""")]
        public void Rejects_text_that_is_not_an_event(string json) =>
            Assert.Throws<JsonFormatException>(() => EngineEvent.Parse(json));

        [Fact]
        public void CreateError_makes_an_error_event()
        {
            var e = EngineEvent.CreateError("Internal", "NotSpecified", "boom", "t");
            Assert.Equal("error", e.Type);
            Assert.Equal("{\"type\":\"error\",\"target\":\"t\",\"errorId\":\"Internal\",\"category\":\"NotSpecified\",\"message\":\"boom\"}", e.ToString());
        }

        [Fact]
        public void EngineException_carries_the_event_and_its_message()
        {
            var e = new EngineException(EngineEvent.CreateError("InvalidEndpoint", "InvalidArgument", "http is allowed only for a loopback address"));
            Assert.Equal("http is allowed only for a loopback address", e.Message);
            Assert.Equal("InvalidEndpoint", e.Event.ErrorId);

            var undescribed = EngineException.FromUndescribedFailure("open a session", 1);
            Assert.Contains("open a session", undescribed.Message);
            Assert.Contains("status 1", undescribed.Message);
            Assert.Equal("Internal", undescribed.Event.ErrorId);
        }
    }
}
