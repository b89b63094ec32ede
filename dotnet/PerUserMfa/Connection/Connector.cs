using System;
using System.Management.Automation;
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
        /// Connects with an access token. The engine validates the endpoint (https, or http for a
        /// loopback host) and the options; its error becomes one terminating error record. A failed
        /// connect leaves the previous connection as it was.
        /// </summary>
        public static void ConnectWithAccessToken(IPipelineSink sink, Uri graphEndpoint, SecureString accessToken, string userAgent)
        {
            if (accessToken.Length == 0)
            {
                sink.ThrowTerminatingError(ErrorRecordFactory.FromException(new PerUserMfaException(
                    "The access token is empty. Pass the token Microsoft Graph issued, for example: Connect-PerUserMfa -AccessToken (Read-Host -AsSecureString 'Token').",
                    "InvalidInput",
                    ErrorCategory.InvalidArgument)));
                return;
            }

            var endpoint = EndpointText(graphEndpoint);
            var options = EngineRequests.SessionOptions(endpoint, EngineRequests.AuthAccessToken, userAgent);
            IEngineSession session;
            try
            {
                session = OpenSession(endpoint, options, accessToken);
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
