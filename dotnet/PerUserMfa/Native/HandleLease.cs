using System;
using System.Runtime.InteropServices;

namespace PerUserMfa.Native
{
    /// <summary>
    /// Keeps a <see cref="SafeHandle"/> alive for the length of a native call
    /// (<c>DangerousAddRef</c>/<c>DangerousRelease</c>), so a concurrent Dispose (Disconnect, or
    /// StopProcessing racing the pipeline thread) defers the free until the call has returned.
    /// Throws <see cref="ObjectDisposedException"/> when the handle is already closed.
    /// </summary>
    internal readonly struct HandleLease : IDisposable
    {
        private readonly SafeHandle _handle;
        private readonly bool _added;

        internal HandleLease(SafeHandle handle)
        {
            _handle = handle;
            var added = false;
            handle.DangerousAddRef(ref added);
            _added = added;
        }

        internal unsafe void* Pointer => (void*)_handle.DangerousGetHandle();

        public void Dispose()
        {
            if (_added)
            {
                _handle.DangerousRelease();
            }
        }
    }
}
