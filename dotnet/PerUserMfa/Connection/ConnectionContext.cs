using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using PerUserMfa.Engine;

namespace PerUserMfa.Connection
{
    /// <summary>
    /// The module's Graph connection, one per runspace, as the Graph SDK and ExchangeOnlineManagement
    /// keep theirs per session: a thread job or a <c>ForEach-Object -Parallel</c> runspace connects to
    /// its own tenant without changing the connection of the runspace that started it. The static
    /// members act on the runspace running the calling cmdlet (<see cref="Runspace.DefaultRunspace"/>).
    /// Connecting again replaces the runspace's session and closes the old one (a job still running on
    /// it keeps it alive until the job ends); closing the runspace closes its session.
    /// </summary>
    internal sealed class ConnectionContext
    {
        private static readonly ConditionalWeakTable<Runspace, ConnectionContext> s_byRunspace =
            new ConditionalWeakTable<Runspace, ConnectionContext>();

        /// <summary>Outside any runspace (a host calling the classes directly): one shared slot.</summary>
        private static readonly ConnectionContext s_withoutRunspace = new ConnectionContext();

        private readonly object _lock = new object();
        private IEngineSession? _current;

        /// <summary>The calling runspace's session, or null when it is not connected.</summary>
        public static IEngineSession? Current => ForCurrentRunspace().Session;

        /// <summary>Makes <paramref name="session"/> the calling runspace's and closes the one it replaces.</summary>
        public static void Replace(IEngineSession session) => ForCurrentRunspace().ReplaceSession(session);

        /// <summary>Closes the calling runspace's session. Returns it (already disposed) so the caller can
        /// name its endpoint, or null when there was none.</summary>
        public static IEngineSession? Disconnect() => ForCurrentRunspace().DisconnectSession();

        /// <summary>The connection of <paramref name="runspace"/> (created empty on first use).</summary>
        public static ConnectionContext For(Runspace? runspace)
        {
            if (runspace == null)
            {
                return s_withoutRunspace;
            }

            lock (s_byRunspace)
            {
                if (s_byRunspace.TryGetValue(runspace, out var existing))
                {
                    return existing;
                }

                var context = new ConnectionContext();
                s_byRunspace.Add(runspace, context);
                runspace.StateChanged += (sender, e) =>
                {
                    if (e.RunspaceStateInfo.State == RunspaceState.Closed || e.RunspaceStateInfo.State == RunspaceState.Broken)
                    {
                        context.DisconnectSession();
                    }
                };
                return context;
            }
        }

        private static ConnectionContext ForCurrentRunspace() => For(Runspace.DefaultRunspace);

        /// <summary>This runspace's session, or null when not connected.</summary>
        public IEngineSession? Session
        {
            get
            {
                lock (_lock)
                {
                    return _current;
                }
            }
        }

        public void ReplaceSession(IEngineSession session)
        {
            IEngineSession? previous;
            lock (_lock)
            {
                previous = _current;
                _current = session;
            }

            if (previous != null && !ReferenceEquals(previous, session))
            {
                previous.Dispose();
            }
        }

        public IEngineSession? DisconnectSession()
        {
            IEngineSession? previous;
            lock (_lock)
            {
                previous = _current;
                _current = null;
            }

            previous?.Dispose();
            return previous;
        }
    }
}
