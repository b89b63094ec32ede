using System;
using System.Security;

namespace PerUserMfa.Connection
{
    /// <summary>A certificate read for sign-in: what names it (thumbprint, subject, expiry) and its RSA
    /// private key as base64 DER in a <see cref="SecureString"/>, for the engine to sign client
    /// assertions with. The key never becomes a managed string; byte and char buffers that held it
    /// are cleared.</summary>
    internal sealed class LoadedCertificate : IDisposable
    {
        public LoadedCertificate(string thumbprint, string subject, DateTime notAfter, SecureString privateKey)
        {
            Thumbprint = thumbprint;
            Subject = subject;
            NotAfter = notAfter;
            PrivateKey = privateKey;
        }

        /// <summary>SHA-1 thumbprint, upper-case hex (as Windows shows it).</summary>
        public string Thumbprint { get; }

        public string Subject { get; }

        public DateTime NotAfter { get; }

        /// <summary>Base64 of the PKCS#8 or PKCS#1 DER private key.</summary>
        public SecureString PrivateKey { get; }

        public void Dispose() => PrivateKey.Dispose();
    }
}
