using System;
using Microsoft.Win32.SafeHandles;

namespace PerUserMfa.Native
{
    /// <summary>An engine session (<c>void*</c> from <c>pumfa_session_open</c>); releasing it calls
    /// <c>pumfa_session_close</c>, which cancels the session's jobs and stops its runtime.</summary>
    internal sealed class SessionHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        internal SessionHandle()
            : base(ownsHandle: true)
        {
        }

        /// <summary>Takes ownership of a pointer the engine returned.</summary>
        internal void Attach(IntPtr session) => SetHandle(session);

        protected override unsafe bool ReleaseHandle()
        {
            NativeMethods.pumfa_session_close((void*)handle);
            return true;
        }
    }
}
