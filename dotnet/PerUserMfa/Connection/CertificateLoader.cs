using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PerUserMfa.Connection
{
    /// <summary>Reads certificates for <c>Connect-PerUserMfa -CertificatePath</c> (.pfx/.p12, or PEM with the
    /// certificate and an unencrypted private key) and <c>-CertificateThumbprint</c> (the CurrentUser
    /// and LocalMachine "My" stores).</summary>
    internal static class CertificateLoader
    {
        private static readonly byte[] PemMarker = System.Text.Encoding.ASCII.GetBytes("-----BEGIN");

        private static PerUserMfaException Invalid(string message, Exception? inner = null) =>
            new PerUserMfaException(message, "InvalidCertificate", ErrorCategory.InvalidArgument, inner);

        /// <summary>A .pfx/.p12 file (with <paramref name="password"/> when it has one) or a PEM file.</summary>
        public static LoadedCertificate FromFile(string path, SecureString? password)
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
            {
                throw Invalid($"The certificate file '{path}' could not be read: {e.Message}", e);
            }

            try
            {
                return IndexOf(bytes, PemMarker) >= 0 ? FromPem(bytes, path) : FromPfx(bytes, password, path);
            }
            finally
            {
                Array.Clear(bytes, 0, bytes.Length);
            }
        }

        /// <summary>The certificate with <paramref name="thumbprint"/> and its private key from Cert:\CurrentUser\My,
        /// else Cert:\LocalMachine\My.</summary>
        public static LoadedCertificate FromStore(string thumbprint)
        {
            var wanted = NormalizeThumbprint(thumbprint);
            var looked = new List<string>();
            foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
            {
                X509Store store;
                try
                {
                    store = new X509Store(StoreName.My, location);
                    store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                }
                catch (Exception e) when (e is CryptographicException || e is PlatformNotSupportedException || e is SecurityException)
                {
                    continue;
                }

                using (store)
                {
                    looked.Add($"Cert:\\{location}\\My");
                    foreach (var certificate in store.Certificates.Find(X509FindType.FindByThumbprint, wanted, false))
                    {
                        using (certificate)
                        {
                            if (!certificate.HasPrivateKey)
                            {
                                throw Invalid($"The certificate {wanted} in Cert:\\{location}\\My has no private key. Import the .pfx (with its key), not the .cer.");
                            }

                            return WithPrivateKey(certificate, $"Cert:\\{location}\\My\\{wanted}");
                        }
                    }
                }
            }

            var where = looked.Count == 0 ? "no certificate store could be opened" : "looked in " + string.Join(" and ", looked);
            throw Invalid($"No certificate with thumbprint {wanted} was found ({where}). Check the thumbprint (Get-ChildItem Cert:\\CurrentUser\\My), or pass the file with -CertificatePath.");
        }

        /// <summary>40 hex digits, upper case; spaces, colons and an invisible left-to-right mark (pasted from
        /// the certificate dialog) are dropped.</summary>
        public static string NormalizeThumbprint(string thumbprint)
        {
            var chars = new List<char>();
            foreach (var c in thumbprint ?? string.Empty)
            {
                if (char.IsWhiteSpace(c) || c == ':' || c == '\u200e' || c == '\u200f')
                {
                    continue;
                }

                chars.Add(char.ToUpperInvariant(c));
            }

            var text = new string(chars.ToArray());
            if (text.Length != 40 || !IsHex(text))
            {
                throw Invalid($"'{thumbprint}' is not a certificate thumbprint: expected 40 hexadecimal characters (SHA-1), as Get-ChildItem Cert:\\CurrentUser\\My shows.");
            }

            return text;
        }

        private static bool IsHex(string text)
        {
            foreach (var c in text)
            {
                if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
                {
                    return false;
                }
            }

            return true;
        }

        private static LoadedCertificate FromPfx(byte[] bytes, SecureString? password, string path)
        {
            // EphemeralKeySet (0x20; .NET Framework 4.7.2+, .NET Core 2.0+, not in netstandard2.0) keeps the
            // key off the disk on Windows; Linux keeps PFX keys in memory anyway, and macOS refuses it.
            var flags = X509KeyStorageFlags.Exportable;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                flags |= EphemeralKeySet;
            }

            X509Certificate2 certificate;
            try
            {
                try
                {
                    certificate = Open(bytes, password, flags);
                }
                catch (ArgumentException) when ((flags & EphemeralKeySet) != 0)
                {
                    certificate = Open(bytes, password, flags & ~EphemeralKeySet);
                }
            }
            catch (CryptographicException e)
            {
                var hint = password == null
                    ? "If the file has a password, pass it with -CertificatePassword (Read-Host -AsSecureString)."
                    : "Check -CertificatePassword.";
                throw Invalid($"The certificate file '{path}' could not be opened as a PFX: {e.Message.Trim()} {hint} A PEM file must contain a -----BEGIN CERTIFICATE----- block and the private key.", e);
            }

            using (certificate)
            {
                if (!certificate.HasPrivateKey)
                {
                    throw Invalid($"The certificate file '{path}' has no private key. Export the certificate with its private key (.pfx).");
                }

                return WithPrivateKey(certificate, path);
            }
        }

        private const X509KeyStorageFlags EphemeralKeySet = (X509KeyStorageFlags)0x20;

        private static X509Certificate2 Open(byte[] bytes, SecureString? password, X509KeyStorageFlags flags) =>
            password == null ? new X509Certificate2(bytes, (string?)null, flags) : new X509Certificate2(bytes, password, flags);

        private static LoadedCertificate WithPrivateKey(X509Certificate2 certificate, string where)
        {
            using (var rsa = certificate.GetRSAPrivateKey())
            {
                if (rsa == null)
                {
                    throw Invalid($"The certificate in {where} does not have an RSA key. Entra ID client assertions are signed with RSA: create an RSA certificate (New-SelfSignedCertificate -KeyAlgorithm RSA -KeyLength 2048).");
                }

                RSAParameters parameters;
                try
                {
                    parameters = rsa.ExportParameters(true);
                }
                catch (CryptographicException e)
                {
                    throw Invalid($"The private key of the certificate in {where} cannot be exported. PerUserMfa signs in inside its native engine, which needs the key: import the certificate again with an exportable key (Import-PfxCertificate -Exportable), or pass the .pfx file with -CertificatePath.", e);
                }

                try
                {
                    var der = Pkcs1.EncodePrivateKey(parameters);
                    try
                    {
                        return new LoadedCertificate(certificate.Thumbprint.ToUpperInvariant(), certificate.Subject, certificate.NotAfter, Base64Secure(der));
                    }
                    finally
                    {
                        Array.Clear(der, 0, der.Length);
                    }
                }
                finally
                {
                    Pkcs1.Clear(parameters);
                }
            }
        }

        /// <summary>PEM: the first CERTIFICATE block names the certificate; the PRIVATE KEY (PKCS#8) or RSA PRIVATE
        /// KEY (PKCS#1) block goes to the engine as its base64 text, copied byte by byte into a SecureString.</summary>
        private static LoadedCertificate FromPem(byte[] bytes, string path)
        {
            if (Block(bytes, "ENCRYPTED PRIVATE KEY", out _, out _))
            {
                throw Invalid($"The private key in '{path}' is encrypted, which PerUserMfa cannot read from PEM. Use a .pfx with -CertificatePassword instead (openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx), or a PEM with an unencrypted key.");
            }

            if (!Block(bytes, "CERTIFICATE", out var certStart, out var certEnd))
            {
                throw Invalid($"The PEM file '{path}' has no -----BEGIN CERTIFICATE----- block. PerUserMfa needs the certificate (for its thumbprint) and its private key in the same file.");
            }

            var keyFound = Block(bytes, "PRIVATE KEY", out var keyStart, out var keyEnd) || Block(bytes, "RSA PRIVATE KEY", out keyStart, out keyEnd);
            if (!keyFound)
            {
                throw Invalid($"The PEM file '{path}' has no private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----). Put the certificate and its key in one file, or use a .pfx.");
            }

            byte[] certificateDer;
            try
            {
                certificateDer = Convert.FromBase64String(Ascii(bytes, certStart, certEnd));
            }
            catch (FormatException e)
            {
                throw Invalid($"The certificate block in '{path}' is not valid base64.", e);
            }

            X509Certificate2 certificate;
            try
            {
                certificate = new X509Certificate2(certificateDer);
            }
            catch (CryptographicException e)
            {
                throw Invalid($"The certificate in '{path}' could not be read: {e.Message.Trim()}", e);
            }

            using (certificate)
            {
                using (var publicKey = certificate.GetRSAPublicKey())
                {
                    if (publicKey == null)
                    {
                        throw Invalid($"The certificate in '{path}' does not have an RSA key. Entra ID client assertions are signed with RSA.");
                    }
                }

                var key = new SecureString();
                for (var i = keyStart; i < keyEnd; i++)
                {
                    var b = bytes[i];
                    if (b == (byte)'\r' || b == (byte)'\n' || b == (byte)' ' || b == (byte)'\t')
                    {
                        continue;
                    }

                    key.AppendChar((char)b);
                }

                key.MakeReadOnly();
                return new LoadedCertificate(certificate.Thumbprint.ToUpperInvariant(), certificate.Subject, certificate.NotAfter, key);
            }
        }

        /// <summary>Finds <c>-----BEGIN {label}-----</c> ... <c>-----END {label}-----</c> and returns the body's range.</summary>
        internal static bool Block(byte[] bytes, string label, out int start, out int end)
        {
            start = end = -1;
            var begin = System.Text.Encoding.ASCII.GetBytes("-----BEGIN " + label + "-----");
            var finish = System.Text.Encoding.ASCII.GetBytes("-----END " + label + "-----");
            var at = IndexOf(bytes, begin);
            if (at < 0)
            {
                return false;
            }

            start = at + begin.Length;
            var stop = IndexOf(bytes, finish, start);
            if (stop < 0)
            {
                return false;
            }

            end = stop;
            return true;
        }

        private static string Ascii(byte[] bytes, int start, int end)
        {
            var chars = new List<char>(end - start);
            for (var i = start; i < end; i++)
            {
                if (!char.IsWhiteSpace((char)bytes[i]))
                {
                    chars.Add((char)bytes[i]);
                }
            }

            return new string(chars.ToArray());
        }

        private static int IndexOf(byte[] haystack, byte[] needle, int from = 0)
        {
            for (var i = from; i <= haystack.Length - needle.Length; i++)
            {
                var match = true;
                for (var j = 0; j < needle.Length; j++)
                {
                    if (haystack[i + j] != needle[j])
                    {
                        match = false;
                        break;
                    }
                }

                if (match)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>Base64 of <paramref name="der"/> straight into a SecureString (the char buffer is cleared).</summary>
        internal static SecureString Base64Secure(byte[] der)
        {
            var chars = new char[(der.Length + 2) / 3 * 4];
            try
            {
                var length = Convert.ToBase64CharArray(der, 0, der.Length, chars, 0);
                var secure = new SecureString();
                for (var i = 0; i < length; i++)
                {
                    secure.AppendChar(chars[i]);
                }

                secure.MakeReadOnly();
                return secure;
            }
            finally
            {
                Array.Clear(chars, 0, chars.Length);
            }
        }
    }
}
