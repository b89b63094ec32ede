using PerUserMfa.Engine;

namespace PerUserMfa.Connection
{
    /// <summary>
    /// The module's current Graph connection: one per process (like the PowerShell session's
    /// module state it stands for), guarded by a lock. Connecting again replaces the session and
    /// closes the old one; a job still running on the old session keeps it alive until the job ends.
    /// </summary>
    internal static class ConnectionContext
    {
        private static readonly object s_lock = new object();
        private static IEngineSession? s_current;

        /// <summary>The current session, or null when not connected.</summary>
        public static IEngineSession? Current
        {
            get
            {
                lock (s_lock)
                {
                    return s_current;
                }
            }
        }

        /// <summary>Makes <paramref name="session"/> current and closes the one it replaces.</summary>
        public static void Replace(IEngineSession session)
        {
            IEngineSession? previous;
            lock (s_lock)
            {
                previous = s_current;
                s_current = session;
            }

            if (previous != null && !ReferenceEquals(previous, session))
            {
                previous.Dispose();
            }
        }

        /// <summary>Closes the current session. Returns it (already disposed) so the caller can name its
        /// endpoint, or null when there was none.</summary>
        public static IEngineSession? Disconnect()
        {
            IEngineSession? previous;
            lock (s_lock)
            {
                previous = s_current;
                s_current = null;
            }

            previous?.Dispose();
            return previous;
        }
    }
}
