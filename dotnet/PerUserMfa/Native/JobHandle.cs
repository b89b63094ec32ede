using System;
using Microsoft.Win32.SafeHandles;

namespace PerUserMfa.Native
{
    /// <summary>An engine job (<c>void*</c> from <c>pumfa_job_start</c>); releasing it calls
    /// <c>pumfa_job_free</c>, which cancels the job first if it still runs.</summary>
    internal sealed class JobHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        internal JobHandle()
            : base(ownsHandle: true)
        {
        }

        /// <summary>Takes ownership of a pointer the engine returned.</summary>
        internal void Attach(IntPtr job) => SetHandle(job);

        protected override unsafe bool ReleaseHandle()
        {
            NativeMethods.pumfa_job_free((void*)handle);
            return true;
        }
    }
}
