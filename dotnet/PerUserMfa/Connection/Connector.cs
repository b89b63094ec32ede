using System;
using System.Management.Automation;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
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
        /// connection as it was. <paramref name="stopping"/> is set by StopProcessing (Ctrl+C).
        /// </summary>
        public static void Connect(IPipelineSink sink, string endpoint, string optionsJson, SecureString? secret, WaitHandle stopping)
        {
            IEngineSession session;
            try
            {
                session = OpenUnlessStopped(endpoint, optionsJson, secret, stopping);
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

        /// <summary>
        /// Opens the session on a worker thread and waits for it or for <paramref name="stopping"/>: signing
        /// in can wait on an authority or identity endpoint that does not answer (up to the engine's
        /// timeouts), and Ctrl+C must end Connect-PerUserMfa at once. A sign-in that completes after the
        /// stop is closed, never made current; one that fails is dropped.
        /// </summary>
        private static IEngineSession OpenUnlessStopped(string endpoint, string optionsJson, SecureString? secret, WaitHandle stopping)
        {
            var opening = Task.Run(() => OpenSession(endpoint, optionsJson, secret));
            var finished = ((IAsyncResult)opening).AsyncWaitHandle;
            if (WaitHandle.WaitAny(new[] { finished, stopping }) == 1 && !opening.IsCompleted)
            {
                opening.ContinueWith(
                    abandoned =>
                    {
                        if (abandoned.Status == TaskStatus.RanToCompletion)
                        {
                            abandoned.Result.Dispose();
                        }
                        else
                        {
                            _ = abandoned.Exception;
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.None,
                    TaskScheduler.Default);
                throw new PipelineStoppedException();
            }

            return opening.GetAwaiter().GetResult();
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
