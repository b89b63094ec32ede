using System;
using System.Management.Automation;

namespace PerUserMfa
{
    /// <summary>
    /// The exception inside every error record the module writes. Besides the admin-facing message it
    /// keeps what a script may want to branch on or report: the stable <see cref="ErrorId"/>, the HTTP
    /// <see cref="Status"/>, Graph's error <see cref="GraphCode"/> and the <see cref="RequestId"/>
    /// Microsoft support asks for.
    /// </summary>
    public sealed class PerUserMfaException : Exception
    {
        public PerUserMfaException(string message)
            : this(message, "Error", ErrorCategory.NotSpecified)
        {
        }

        public PerUserMfaException(string message, string errorId, ErrorCategory category, Exception? innerException = null)
            : base(message, innerException)
        {
            ErrorId = string.IsNullOrEmpty(errorId) ? "Error" : errorId;
            Category = category;
        }

        /// <summary>The engine's stable error identifier without the <c>PerUserMfa.</c> prefix, e.g. <c>UserNotFound</c>.</summary>
        public string ErrorId { get; }

        public ErrorCategory Category { get; }

        /// <summary>The HTTP status Graph answered with, when the error came from Graph.</summary>
        public int? Status { get; internal set; }

        /// <summary>Graph's <c>error.code</c>, e.g. <c>Request_ResourceNotFound</c>.</summary>
        public string? GraphCode { get; internal set; }

        /// <summary>Graph's <c>request-id</c> for the failed request.</summary>
        public string? RequestId { get; internal set; }

        /// <summary>The user (id or UPN as given) the error is about; null when it concerns the whole command.</summary>
        public string? Target { get; internal set; }
    }
}
