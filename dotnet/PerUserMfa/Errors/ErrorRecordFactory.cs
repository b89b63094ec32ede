using System;
using System.Management.Automation;
using PerUserMfa.Engine;

namespace PerUserMfa.Errors
{
    /// <summary>
    /// Every error record the module writes. The message is the engine's (it already names the user,
    /// the permission to grant and Graph's request-id); FullyQualifiedErrorId starts with
    /// <c>PerUserMfa.&lt;errorId&gt;</c>; the category is the engine's <c>category</c> when it names an
    /// <see cref="ErrorCategory"/> member, else NotSpecified; the target is the user as given.
    /// </summary>
    internal static class ErrorRecordFactory
    {
        public const string ErrorIdPrefix = "PerUserMfa.";

        public const string NotConnectedMessage =
            "Not connected to Microsoft Graph. Sign in first, for example: Connect-MgGraph -Scopes Policy.Read.All, User.Read.All; Connect-PerUserMfa " +
            "(an app registration, a managed identity or the Azure CLI: Get-Help Connect-PerUserMfa -Examples).";

        /// <summary>An <c>error</c> or <c>fatal</c> event (or the error event of a failed call).</summary>
        public static ErrorRecord FromEvent(EngineEvent errorEvent) => FromEvent(ErrorEvent.From(errorEvent));

        /// <summary>An <c>error</c> or <c>fatal</c> event's members.</summary>
        public static ErrorRecord FromEvent(ErrorEvent errorEvent)
        {
            var errorId = string.IsNullOrEmpty(errorEvent.ErrorId) ? "Error" : errorEvent.ErrorId!;
            var message = string.IsNullOrEmpty(errorEvent.Message)
                ? $"The PerUserMfa engine reported an error ({errorId}) without a message."
                : errorEvent.Message!;
            var target = string.IsNullOrEmpty(errorEvent.Target) ? null : errorEvent.Target;
            var exception = new PerUserMfaException(message, errorId, ParseCategory(errorEvent.Category))
            {
                Status = errorEvent.Status,
                GraphCode = errorEvent.GraphCode,
                RequestId = errorEvent.RequestId,
                Target = target,
            };
            return FromException(exception);
        }

        /// <summary>An error the module raised itself (not connected, native library missing, ...).</summary>
        public static ErrorRecord FromException(PerUserMfaException exception)
        {
            var record = new ErrorRecord(exception, ErrorIdPrefix + exception.ErrorId, exception.Category, exception.Target);
            record.ErrorDetails = new ErrorDetails(exception.Message)
            {
                RecommendedAction = RecommendedActionFor(exception.ErrorId),
            };
            return record;
        }

        public static ErrorRecord NotConnected() =>
            FromException(new PerUserMfaException(NotConnectedMessage, "NotConnected", ErrorCategory.ConnectionError));

        /// <summary>The engine sent something that is not a valid event: a defect, reported rather than hidden.</summary>
        public static ErrorRecord ProtocolError(Exception cause) =>
            FromException(new PerUserMfaException(
                "The PerUserMfa engine sent an event this module cannot read (" + cause.Message + "). The module and its native engine may be from different builds; reinstall the module.",
                "EngineProtocolError",
                ErrorCategory.InvalidResult,
                cause));

        /// <summary>The <see cref="ErrorCategory"/> named <paramref name="category"/> (exact member name),
        /// or NotSpecified for null, unknown names and numbers.</summary>
        public static ErrorCategory ParseCategory(string? category)
        {
            // Exact member names only: Enum.Parse would also take numbers and comma lists.
            if (category == null || Array.IndexOf(Enum.GetNames(typeof(ErrorCategory)), category) < 0)
            {
                return ErrorCategory.NotSpecified;
            }

            return (ErrorCategory)Enum.Parse(typeof(ErrorCategory), category);
        }

        /// <summary>What the admin can do about an error, where there is one obvious step.</summary>
        public static string? RecommendedActionFor(string? errorId) => errorId switch
        {
            "Unauthorized" => "Get a new access token and run Connect-PerUserMfa again.",
            "SignInFailed" => "Fix what the message names (the AADSTS code says what Entra ID refused), then run Connect-PerUserMfa again.",
            "GraphSessionNotFound" => "Run Connect-MgGraph first, or sign in with another Connect-PerUserMfa parameter set.",
            "InvalidCertificate" => "Check -CertificatePath / -CertificatePassword or -CertificateThumbprint.",
            "PermissionDenied" => "Grant the permission the message names, consent to it, then get a new token and run Connect-PerUserMfa again.",
            "UserNotFound" => "Check the user's object id or user principal name.",
            "Throttled" => "Wait a few minutes and run the command again, or lower -ThrottleLimit.",
            "Transient" => "Run the command again.",
            "InvalidEndpoint" => "Use an https:// Graph endpoint; http:// is accepted only for a loopback address (127.0.0.1, ::1, localhost).",
            "NativeLibraryNotFound" => "Reinstall PerUserMfa from the PowerShell Gallery, or install a release that supports this platform.",
            "NativeLibraryLoadFailed" => "Reinstall PerUserMfa; if the error remains, report it with the message above.",
            _ => null,
        };
    }
}
