using System;

namespace PerUserMfa.Engine
{
    /// <summary>A native call returned <c>PUMFA_ERROR</c>. <see cref="Event"/> is the error event the
    /// engine wrote (or one made on the C# side when the engine wrote none); the pipeline turns it
    /// into an error record with <see cref="Errors.ErrorRecordFactory"/>.</summary>
    internal sealed class EngineException : Exception
    {
        public EngineException(EngineEvent errorEvent)
            : this(errorEvent, ErrorEvent.From(errorEvent))
        {
        }

        private EngineException(EngineEvent errorEvent, ErrorEvent error)
            : base(error.Message ?? "The PerUserMfa engine reported an error without a message.")
        {
            Event = errorEvent;
            Error = error;
        }

        public EngineEvent Event { get; }

        /// <summary>The error event's members.</summary>
        public ErrorEvent Error { get; }

        /// <summary>The exception for a failed call whose error buffer was empty or unreadable.</summary>
        internal static EngineException FromUndescribedFailure(string operation, int status, string? detail = null)
        {
            var message = $"The PerUserMfa engine failed to {operation} (status {status}) without describing the error.";
            if (!string.IsNullOrEmpty(detail))
            {
                message += " " + detail;
            }

            return new EngineException(EngineEvent.CreateError("Internal", "NotSpecified", message));
        }
    }
}
