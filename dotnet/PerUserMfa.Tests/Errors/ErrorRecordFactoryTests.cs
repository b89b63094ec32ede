using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using Xunit;

namespace PerUserMfa.Tests.Errors
{
    public class ErrorRecordFactoryTests
    {
        private const string PermissionMessage =
            "Reading the per-user MFA state of 'adele.vance@contoso.com' was refused: the app needs Policy.Read.All. (request-id: 0f2a1b3c-0000-4000-8000-000000000000)";

        [Fact]
        public void Maps_an_error_event_to_a_record()
        {
            var e = EngineEvent.Parse(@"{""type"":""error"",""target"":""adele.vance@contoso.com"",""errorId"":""PermissionDenied"",""category"":""PermissionDenied"",""message"":" +
                PerUserMfa.Json.JsonWriter.Serialize(PermissionMessage) + @",""status"":403,""graphCode"":""Authorization_RequestDenied"",""requestId"":""0f2a1b3c-0000-4000-8000-000000000000""}");
            var record = ErrorRecordFactory.FromEvent(e);

            Assert.Equal("PerUserMfa.PermissionDenied", record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.PermissionDenied, record.CategoryInfo.Category);
            Assert.Equal("adele.vance@contoso.com", record.TargetObject);
            Assert.Equal(PermissionMessage, record.Exception.Message);
            Assert.Equal(PermissionMessage, record.ErrorDetails.Message);
            Assert.NotNull(record.ErrorDetails.RecommendedAction);

            var exception = Assert.IsType<PerUserMfaException>(record.Exception);
            Assert.Equal("PermissionDenied", exception.ErrorId);
            Assert.Equal(403, exception.Status);
            Assert.Equal("Authorization_RequestDenied", exception.GraphCode);
            Assert.Equal("0f2a1b3c-0000-4000-8000-000000000000", exception.RequestId);
            Assert.Equal("adele.vance@contoso.com", exception.Target);
        }

        [Fact]
        public void A_fatal_event_with_an_empty_target_has_no_target_object()
        {
            var record = ErrorRecordFactory.FromEvent(EngineEvent.Parse(@"{""type"":""fatal"",""target"":"""",""errorId"":""Unauthorized"",""category"":""AuthenticationError"",""message"":""The token has expired. Run Connect-PerUserMfa again."",""status"":401}"));
            Assert.Null(record.TargetObject);
            Assert.Equal(ErrorCategory.AuthenticationError, record.CategoryInfo.Category);
            Assert.Equal("PerUserMfa.Unauthorized", record.FullyQualifiedErrorId);
        }

        [Theory]
        [InlineData("ObjectNotFound", ErrorCategory.ObjectNotFound)]
        [InlineData("LimitsExceeded", ErrorCategory.LimitsExceeded)]
        [InlineData("ConnectionError", ErrorCategory.ConnectionError)]
        [InlineData("InvalidArgument", ErrorCategory.InvalidArgument)]
        [InlineData("objectnotfound", ErrorCategory.NotSpecified)]
        [InlineData("NoSuchCategory", ErrorCategory.NotSpecified)]
        [InlineData("13", ErrorCategory.NotSpecified)]
        [InlineData("ObjectNotFound, InvalidData", ErrorCategory.NotSpecified)]
        [InlineData("", ErrorCategory.NotSpecified)]
        [InlineData(null, ErrorCategory.NotSpecified)]
        public void Parses_categories_by_exact_member_name(string? category, ErrorCategory expected) =>
            Assert.Equal(expected, ErrorRecordFactory.ParseCategory(category));

        [Fact]
        public void Missing_fields_get_safe_defaults()
        {
            var record = ErrorRecordFactory.FromEvent(EngineEvent.Parse(@"{""type"":""error""}"));
            Assert.Equal("PerUserMfa.Error", record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.NotSpecified, record.CategoryInfo.Category);
            Assert.Contains("without a message", record.Exception.Message);
            Assert.Null(record.TargetObject);
        }

        [Fact]
        public void NotConnected_is_one_clear_connection_error()
        {
            var record = ErrorRecordFactory.NotConnected();
            Assert.Equal("PerUserMfa.NotConnected", record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, record.CategoryInfo.Category);
            Assert.Equal(ErrorRecordFactory.NotConnectedMessage, record.Exception.Message);
            Assert.Contains("Connect-MgGraph -Scopes", record.Exception.Message);
            Assert.Null(record.Exception.InnerException);
        }

        [Theory]
        [InlineData("UserNotFound", true)]
        [InlineData("Throttled", true)]
        [InlineData("InvalidEndpoint", true)]
        [InlineData("Internal", false)]
        [InlineData("SomethingNew", false)]
        public void Recommends_an_action_only_when_there_is_an_obvious_one(string errorId, bool expected) =>
            Assert.Equal(expected, ErrorRecordFactory.RecommendedActionFor(errorId) != null);

        [Fact]
        public void Protocol_errors_name_the_cause()
        {
            var record = ErrorRecordFactory.ProtocolError(new PerUserMfa.Json.JsonFormatException("unterminated string", 3));
            Assert.Equal("PerUserMfa.EngineProtocolError", record.FullyQualifiedErrorId);
            Assert.Contains("unterminated string", record.Exception.Message);
            Assert.Equal(ErrorCategory.InvalidResult, record.CategoryInfo.Category);
        }
    }
}
