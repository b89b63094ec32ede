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
            var error = ErrorEvent.From(e);
            Assert.Equal("nobody@contoso.com", error.Target);
            Assert.Equal("UserNotFound", error.ErrorId);
            Assert.Equal("ObjectNotFound", error.Category);
            Assert.Equal("m", error.Message);
            Assert.Equal(404, error.Status);
            Assert.Equal("Request_ResourceNotFound", error.GraphCode);
            Assert.Equal("abc", error.RequestId);
        }

        [Fact]
        public void Absent_and_null_fields_read_as_null()
        {
            var e = EngineEvent.Parse(@"{""type"":""progress"",""total"":null}");
            var progress = ProgressEvent.From(e);
            Assert.Null(progress.Total);
            Assert.Null(progress.Completed);
            Assert.Null(progress.Status);
            Assert.Null(ChangeResultEvent.From(e).Changed);
            Assert.Null(ErrorEvent.From(e).Status);
        }

        [Fact]
        public void Numbers_read_as_either_integer_or_double()
        {
            var fields = new EventFields(EngineEvent.Parse(@"{""type"":""progress"",""completed"":120,""ratePerSecond"":812.5,""secondsRemaining"":1.6}").Fields);
            Assert.Equal(120L, fields.Int64("completed"));
            Assert.Equal(120.0, fields.Double("completed"));
            Assert.Equal(812.5, fields.Double("ratePerSecond"));
            Assert.Equal(2L, fields.Int64("secondsRemaining"));
            Assert.Equal("120", fields.String("completed"));
            Assert.Empty(fields.Problems);
        }

        [Fact]
        public void A_checking_reader_reports_missing_null_and_mistyped_members()
        {
            var fields = EventFields.Checking(EngineEvent.Parse(@"{""type"":""progress"",""completed"":""120"",""total"":null}").Fields);
            ProgressEvent.Read(fields);
            Assert.Contains("'completed' is a string, read as an integer", fields.Problems);
            Assert.Contains(fields.Problems, p => p.StartsWith("'total' is null", System.StringComparison.Ordinal));
            Assert.Contains("'activity' is missing", fields.Problems);
            Assert.Contains("ratePerSecond", fields.Read);
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
            Assert.Equal("InvalidEndpoint", e.Error.ErrorId);

            var undescribed = EngineException.FromUndescribedFailure("open a session", 1);
            Assert.Contains("open a session", undescribed.Message);
            Assert.Contains("status 1", undescribed.Message);
            Assert.Equal("Internal", undescribed.Error.ErrorId);
        }
    }
}
