using System;
using System.Text;

namespace PerUserMfa.Native
{
    /// <summary>Reads the UTF-8 text of a <see cref="PumfaBuffer"/> the engine filled and always hands
    /// the buffer back to the engine (<c>pumfa_buffer_free</c>): memory allocated in Rust is freed in Rust.</summary>
    internal static unsafe class NativeBuffer
    {
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

        /// <summary>Decodes the buffer (null when the engine left it empty) and frees it, even when decoding fails.</summary>
        internal static string? TakeString(PumfaBuffer* buffer)
        {
            try
            {
                return Decode(buffer->ptr, buffer->len);
            }
            finally
            {
                Free(buffer);
            }
        }

        /// <summary>Frees a buffer; a zeroed (never filled, or already freed) buffer is left alone.</summary>
        internal static void Free(PumfaBuffer* buffer)
        {
            if (buffer->ptr != null)
            {
                NativeMethods.pumfa_buffer_free(buffer);
            }
        }

        /// <summary>UTF-8 bytes at <paramref name="bytes"/> as a string; null for a null pointer.</summary>
        internal static string? Decode(byte* bytes, nuint length)
        {
            if (bytes == null)
            {
                return null;
            }

            if (length > int.MaxValue)
            {
                throw new InvalidOperationException("The engine returned a buffer larger than 2 GB.");
            }

            return Utf8.GetString(bytes, (int)length);
        }

        /// <summary>The UTF-8 bytes of a request or input JSON document.</summary>
        internal static byte[] Encode(string json) => Utf8.GetBytes(json);
    }
}
