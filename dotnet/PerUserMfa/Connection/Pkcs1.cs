using System;
using System.Collections.Generic;
using System.Security.Cryptography;

namespace PerUserMfa.Connection
{
    /// <summary>PKCS#1 <c>RSAPrivateKey</c> DER from <see cref="RSAParameters"/> (netstandard2.0 has no exporter).</summary>
    internal static class Pkcs1
    {
        public static byte[] EncodePrivateKey(RSAParameters p)
        {
            if (p.Modulus == null || p.Exponent == null || p.D == null || p.P == null || p.Q == null || p.DP == null || p.DQ == null || p.InverseQ == null)
            {
                throw new CryptographicException("The RSA key has no private parts.");
            }

            var parts = new List<byte[]>
            {
                Integer(new byte[] { 0 }),
                Integer(p.Modulus),
                Integer(p.Exponent),
                Integer(p.D),
                Integer(p.P),
                Integer(p.Q),
                Integer(p.DP),
                Integer(p.DQ),
                Integer(p.InverseQ),
            };
            try
            {
                return Tagged(0x30, parts);
            }
            finally
            {
                foreach (var part in parts)
                {
                    Array.Clear(part, 0, part.Length);
                }
            }
        }

        public static void Clear(RSAParameters p)
        {
            foreach (var buffer in new[] { p.D, p.P, p.Q, p.DP, p.DQ, p.InverseQ })
            {
                if (buffer != null)
                {
                    Array.Clear(buffer, 0, buffer.Length);
                }
            }
        }

        /// <summary>A DER INTEGER for an unsigned big-endian number.</summary>
        internal static byte[] Integer(byte[] unsigned)
        {
            var skip = 0;
            while (skip < unsigned.Length - 1 && unsigned[skip] == 0)
            {
                skip++;
            }

            var pad = (unsigned[skip] & 0x80) != 0 ? 1 : 0;
            var content = new byte[unsigned.Length - skip + pad];
            Buffer.BlockCopy(unsigned, skip, content, pad, unsigned.Length - skip);
            try
            {
                return Tagged(0x02, new List<byte[]> { content });
            }
            finally
            {
                Array.Clear(content, 0, content.Length);
            }
        }

        internal static byte[] Tagged(byte tag, List<byte[]> contents)
        {
            var length = 0;
            foreach (var c in contents)
            {
                length += c.Length;
            }

            var header = Length(length);
            var result = new byte[1 + header.Length + length];
            result[0] = tag;
            Buffer.BlockCopy(header, 0, result, 1, header.Length);
            var at = 1 + header.Length;
            foreach (var c in contents)
            {
                Buffer.BlockCopy(c, 0, result, at, c.Length);
                at += c.Length;
            }

            return result;
        }

        internal static byte[] Length(int length)
        {
            if (length < 0x80)
            {
                return new[] { (byte)length };
            }

            var bytes = new List<byte>();
            for (var n = length; n > 0; n >>= 8)
            {
                bytes.Insert(0, (byte)(n & 0xFF));
            }

            bytes.Insert(0, (byte)(0x80 | bytes.Count));
            return bytes.ToArray();
        }
    }
}
