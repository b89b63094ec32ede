using System;
using System.Security;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Connection
{
    /// <summary>Opens a session for Connect-PerUserMfa and makes it current; closes it for Disconnect-PerUserMfa.</summary>
    internal static class Connector
    {
        public const string DefaultGraphEndpoint = "https://graph.microsoft.com";

        /// <summary>Opens engine sessions; tests swap it for a fake.</summary>
        internal static Func<string, string, SecureString?, IEngineSession> OpenSession { get; set; } = EngineSession.Open;

        /// <summary>
        /// Opens a session with <paramref name="optionsJson"/> (see <see cref="SignInOptions"/>) and the
        /// sign-in method's <paramref name="secret"/>, and makes it current. A method that gets its own
        /// tokens signs in here, so a wrong secret or a missing identity stops Connect-PerUserMfa with
        /// the engine's message (AADSTS code and what to fix). A failed connect leaves the previous
        /// connection as it was.
        /// </summary>
        public static void Connect(IPipelineSink sink, string endpoint, string optionsJson, SecureString? secret)
        {
            IEngineSession session;
            try
            {
                session = OpenSession(endpoint, optionsJson, secret);
            }
            catch (EngineException e)
            {
                sink.ThrowTerminatingError(ErrorRecordFactory.FromEvent(e.Event));
                return;
            }
            catch (PerUserMfaException e)
            {
                sink.ThrowTerminatingError(ErrorRecordFactory.FromException(e));
                return;
            }

            ConnectionContext.Replace(session);
            sink.WriteVerbose($"Connected to {endpoint}");
            var info = ConnectionInfo.TryRead(session);
            if (info != null)
            {
                sink.WriteVerbose(info.Describe());
            }
        }

        public static void Disconnect(IPipelineSink sink)
        {
            var closed = ConnectionContext.Disconnect();
            if (closed != null)
            {
                sink.WriteVerbose($"Disconnected from {closed.GraphEndpoint}");
            }
        }

        /// <summary>The endpoint as the admin typed it (the engine checks and normalises it).</summary>
        internal static string EndpointText(Uri graphEndpoint) => graphEndpoint.OriginalString.Trim();
    }
}
