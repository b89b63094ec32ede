using System;
using System.Runtime.InteropServices;
using System.Security;

namespace PerUserMfa.Native
{
    /// <summary>
    /// A <see cref="SecureString"/> decrypted into unmanaged UTF-16 memory for the length of one
    /// native call (<c>SecureStringToGlobalAllocUnicode</c>), so the secret never becomes a managed
    /// <see cref="string"/>. Dispose wipes the characters and frees the memory
    /// (<c>ZeroFreeGlobalAllocUnicode</c>); use it in a <c>using</c> block.
    /// </summary>
    internal sealed unsafe class UnmanagedSecret : IDisposable
    {
        private readonly Action<IntPtr> _free;
        private IntPtr _memory;
        private int _length;

        private UnmanagedSecret(IntPtr memory, int length, Action<IntPtr> free)
        {
            _memory = memory;
            _length = length;
            _free = free;
        }

        /// <summary>The UTF-16 code units; null for an absent secret or after Dispose.</summary>
        internal ushort* Chars => (ushort*)_memory;

        /// <summary>The number of UTF-16 code units (not bytes).</summary>
        internal int Length => _length;

        /// <summary>Copies <paramref name="secret"/> into unmanaged memory; null gives an empty secret.</summary>
        internal static UnmanagedSecret From(SecureString? secret) => From(secret, Marshal.ZeroFreeGlobalAllocUnicode);

        /// <summary>As <see cref="From(SecureString)"/>, with the final free replaceable so tests can
        /// observe the memory before it is released.</summary>
        internal static UnmanagedSecret From(SecureString? secret, Action<IntPtr> free)
        {
            if (secret == null || secret.Length == 0)
            {
                return new UnmanagedSecret(IntPtr.Zero, 0, free);
            }

            var memory = Marshal.SecureStringToGlobalAllocUnicode(secret);
            return new UnmanagedSecret(memory, secret.Length, free);
        }

        public void Dispose()
        {
            var memory = _memory;
            if (memory == IntPtr.Zero)
            {
                return;
            }

            // ZeroFreeGlobalAllocUnicode zeroes too; wiping here first keeps the guarantee
            // whatever releases the memory.
            var chars = (ushort*)memory;
            for (var i = 0; i < _length; i++)
            {
                chars[i] = 0;
            }

            _memory = IntPtr.Zero;
            _length = 0;
            _free(memory);
        }
    }
}
