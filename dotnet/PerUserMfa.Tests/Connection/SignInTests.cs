using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PerUserMfa.Connection;
using PerUserMfa.Json;
using Xunit;

namespace PerUserMfa.Tests.Connection
{
    public sealed class SignInOptionsTests
    {
        [Fact]
        public void Each_method_writes_its_auth_object_and_no_secret()
        {
            var options = JsonReader.ParseObject(SignInOptions.Build("https://graph.microsoft.us", "USGov", new Uri("http://127.0.0.1:4000"), SignInOptions.ClientSecret("contoso.onmicrosoft.com", "app-1"), "ua"));
            Assert.Equal(new[] { "graphEndpoint", "environment", "authorityHost", "auth", "userAgent" }, options.Keys.ToArray());
            Assert.Equal("http://127.0.0.1:4000", options["authorityHost"]);
            var auth = (JsonObject)options["auth"]!;
            Assert.Equal(new[] { "kind", "tenantId", "clientId" }, auth.Keys.ToArray());
            Assert.Equal("clientSecret", auth["kind"]);

            var certificate = (JsonObject)JsonReader.ParseObject(SignInOptions.Build("g", "Global", null, SignInOptions.Certificate("t", "c", "ABCD"), "ua"))["auth"]!;
            Assert.Equal("ABCD", certificate["thumbprint"]);
            var cli = (JsonObject)JsonReader.ParseObject(SignInOptions.Build("g", "Global", null, SignInOptions.AzureCli(null, "/usr/bin"), "ua"))["auth"]!;
            Assert.Equal(new[] { "kind", "path" }, cli.Keys.ToArray());
            Assert.Equal("graphSession", ((JsonObject)JsonReader.ParseObject(SignInOptions.Build("g", "Global", null, SignInOptions.GraphSession(), "ua"))["auth"]!)["kind"]);
        }

        [Theory]
        [InlineData("usgov", "USGov", "https://graph.microsoft.us")]
        [InlineData("USGovDoD", "USGovDoD", "https://dod-graph.microsoft.us")]
        [InlineData("china", "China", "https://microsoftgraph.chinacloudapi.cn")]
        [InlineData(null, null, "https://graph.microsoft.com")]
        [InlineData("Germany", null, "https://graph.microsoft.com")]
        public void Environments_name_their_graph_endpoint(string? given, string? canonical, string endpoint)
        {
            Assert.Equal(canonical, SignInOptions.CanonicalEnvironment(given));
            Assert.Equal(endpoint, SignInOptions.GraphEndpointFor(canonical ?? "Global", null));
            Assert.Equal("http://127.0.0.1:9", SignInOptions.GraphEndpointFor(canonical ?? "Global", new Uri("http://127.0.0.1:9")));
        }

        [Fact]
        public void Managed_identity_passes_the_endpoints_and_keeps_the_header_for_the_secret_argument()
        {
            var env = new Dictionary<string, string?>
            {
                ["IDENTITY_ENDPOINT"] = "http://127.0.0.1:41000/msi/token",
                ["IDENTITY_HEADER"] = "header-secret",
                ["MSI_ENDPOINT"] = "http://127.0.0.1:41001/msi/token",
                ["MSI_SECRET"] = "msi-secret",
            };
            var identity = ManagedIdentityEnvironment.Read(name => env.TryGetValue(name, out var v) ? v : null);
            Assert.Equal("IDENTITY_HEADER", identity.SecretVariable);
            var json = SignInOptions.Build("g", "Global", null, SignInOptions.ManagedIdentity("user-mi", identity), "ua");
            Assert.DoesNotContain("header-secret", json);
            Assert.DoesNotContain("msi-secret", json);
            var auth = (JsonObject)JsonReader.ParseObject(json)["auth"]!;
            Assert.Equal("user-mi", auth["clientId"]);
            Assert.Equal("IDENTITY_HEADER", auth["secretVariable"]);
            Assert.Equal(new[] { "IDENTITY_ENDPOINT", "MSI_ENDPOINT" }, ((JsonObject)auth["environmentVariables"]!).Keys.ToArray());
            using (var secret = identity.Secret()!)
            {
                Assert.Equal("header-secret".Length, secret.Length);
                Assert.True(secret.IsReadOnly());
            }

            env.Remove("IDENTITY_HEADER");
            Assert.Equal("MSI_SECRET", ManagedIdentityEnvironment.Read(name => env.TryGetValue(name, out var v) ? v : null).SecretVariable);
            var imds = ManagedIdentityEnvironment.Read(_ => null);
            Assert.Null(imds.SecretVariable);
            Assert.Null(imds.Secret());
            Assert.Contains("IMDS", imds.Describe());
        }
    }

    public sealed class CertificateLoaderTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "pumfa-cert-" + Guid.NewGuid().ToString("N"));

        public CertificateLoaderTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static (X509Certificate2 Certificate, RSA Key) NewCertificate(DateTimeOffset? notAfter = null)
        {
            var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=PerUserMfa test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), notAfter ?? DateTimeOffset.UtcNow.AddDays(30));
            return (certificate, key);
        }

        private static SecureString Secure(string text)
        {
            var s = new SecureString();
            foreach (var c in text)
            {
                s.AppendChar(c);
            }

            return s;
        }

        private static byte[] KeyDer(SecureString key)
        {
            var pointer = Marshal.SecureStringToGlobalAllocUnicode(key);
            try
            {
                return Convert.FromBase64String(Marshal.PtrToStringUni(pointer, key.Length));
            }
            finally
            {
                Marshal.ZeroFreeGlobalAllocUnicode(pointer);
            }
        }

        [Fact]
        public void A_password_protected_pfx_gives_the_thumbprint_and_a_pkcs1_key_that_matches()
        {
            var (certificate, key) = NewCertificate();
            var path = Path.Combine(_dir, "app.pfx");
            File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, "pfx-password"));

            using var loaded = CertificateLoader.FromFile(path, Secure("pfx-password"));
            Assert.Equal(certificate.Thumbprint, loaded.Thumbprint);
            Assert.Contains("PerUserMfa test", loaded.Subject);
            using var imported = RSA.Create();
            imported.ImportRSAPrivateKey(KeyDer(loaded.PrivateKey), out _);
            Assert.Equal(key.ExportParameters(false).Modulus, imported.ExportParameters(false).Modulus);
            Assert.Equal(key.ExportParameters(true).D, imported.ExportParameters(true).D);

            var wrong = Assert.Throws<PerUserMfaException>(() => CertificateLoader.FromFile(path, Secure("nope")));
            Assert.Equal("InvalidCertificate", wrong.ErrorId);
            Assert.Contains("-CertificatePassword", wrong.Message);
        }

        [Fact]
        public void A_pem_file_with_certificate_and_key_is_read_without_parsing_the_key()
        {
            var (certificate, key) = NewCertificate();
            var path = Path.Combine(_dir, "app.pem");
            File.WriteAllText(path, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
            using var loaded = CertificateLoader.FromFile(path, null);
            Assert.Equal(certificate.Thumbprint, loaded.Thumbprint);
            Assert.Equal(key.ExportPkcs8PrivateKey(), KeyDer(loaded.PrivateKey));

            File.WriteAllText(path, key.ExportRSAPrivateKeyPem() + certificate.ExportCertificatePem());
            using var pkcs1 = CertificateLoader.FromFile(path, null);
            Assert.Equal(key.ExportRSAPrivateKey(), KeyDer(pkcs1.PrivateKey));
        }

        [Fact]
        public void Pem_files_it_cannot_use_say_why()
        {
            var (certificate, key) = NewCertificate();
            var path = Path.Combine(_dir, "bad.pem");
            File.WriteAllText(path, certificate.ExportCertificatePem());
            Assert.Contains("no private key", Assert.Throws<PerUserMfaException>(() => CertificateLoader.FromFile(path, null)).Message);
            File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
            Assert.Contains("no -----BEGIN CERTIFICATE-----", Assert.Throws<PerUserMfaException>(() => CertificateLoader.FromFile(path, null)).Message);
            var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("pw".AsSpan(), new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
            File.WriteAllText(path, certificate.ExportCertificatePem() + encrypted);
            Assert.Contains("encrypted", Assert.Throws<PerUserMfaException>(() => CertificateLoader.FromFile(path, null)).Message);
            Assert.Contains("could not be read", Assert.Throws<PerUserMfaException>(() => CertificateLoader.FromFile(Path.Combine(_dir, "missing.pfx"), null)).Message);
        }

        [Fact]
        public void Thumbprints_are_normalised_and_checked()
        {
            Assert.Equal("0123456789ABCDEF0123456789ABCDEF01234567", CertificateLoader.NormalizeThumbprint("\u200e01 23 45 67 89 ab cd ef 01:23:45:67:89:ab:cd:ef:01:23:45:67"));
            Assert.Throws<PerUserMfaException>(() => CertificateLoader.NormalizeThumbprint("1234"));
            Assert.Throws<PerUserMfaException>(() => CertificateLoader.NormalizeThumbprint("Z123456789ABCDEF0123456789ABCDEF01234567"));
        }

        [Fact]
        public void Der_integers_and_lengths_follow_the_rules()
        {
            Assert.Equal(new byte[] { 0x02, 0x01, 0x00 }, Pkcs1.Integer(new byte[] { 0 }));
            Assert.Equal(new byte[] { 0x02, 0x02, 0x00, 0x80 }, Pkcs1.Integer(new byte[] { 0x00, 0x80 }));
            Assert.Equal(new byte[] { 0x02, 0x03, 0x01, 0x00, 0x01 }, Pkcs1.Integer(new byte[] { 0x01, 0x00, 0x01 }));
            Assert.Equal(new byte[] { 0x7F }, Pkcs1.Length(127));
            Assert.Equal(new byte[] { 0x81, 0x80 }, Pkcs1.Length(128));
            Assert.Equal(new byte[] { 0x82, 0x01, 0x00 }, Pkcs1.Length(256));
        }
    }

    public sealed class GraphSessionTokenTests
    {
        private static Func<string, IList<PSObject>> Fake(bool loaded, object? context, Func<object?> response) => script =>
        {
            if (script == GraphSessionToken.ModuleScript)
            {
                return loaded ? new List<PSObject> { new PSObject("Microsoft.Graph.Authentication") } : new List<PSObject>();
            }

            if (script == GraphSessionToken.ContextScript)
            {
                return context == null ? new List<PSObject>() : new List<PSObject> { PSObject.AsPSObject(context) };
            }

            var answer = response();
            return answer == null ? new List<PSObject>() : new List<PSObject> { PSObject.AsPSObject(answer) };
        };

        private sealed class TrackedResponse : HttpResponseMessage
        {
            public bool Disposed { get; private set; }

            protected override void Dispose(bool disposing)
            {
                Disposed = true;
                base.Dispose(disposing);
            }
        }

        private static TrackedResponse Response(string scheme, string token)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "https://graph.microsoft.com/v1.0/organization");
            request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
            return new TrackedResponse { RequestMessage = request };
        }

        private static PSObject Context(string environment)
        {
            var context = new PSObject();
            context.Properties.Add(new PSNoteProperty("Environment", environment));
            context.Properties.Add(new PSNoteProperty("Account", "admin@contoso.com"));
            context.Properties.Add(new PSNoteProperty("TenantId", "t-1"));
            return context;
        }

        [Fact]
        public void The_token_of_the_sdk_request_becomes_a_secure_string()
        {
            var response = Response("Bearer", "eyJ0eXAi.token.value");
            var token = GraphSessionToken.Acquire(Fake(true, Context("USGov"), () => response), asked: true);
            Assert.Equal("eyJ0eXAi.token.value".Length, token.Token.Length);
            Assert.True(token.Token.IsReadOnly());
            Assert.Equal("USGov", token.Environment);
            Assert.Equal("admin@contoso.com", token.Account);
            Assert.True(response.Disposed, "the SDK's response (and the request holding the token) is disposed");
        }

        public sealed class RefusedException : Exception
        {
            public RefusedException(HttpResponseMessage response)
                : base("Forbidden")
            {
                Response = response;
            }

            public HttpResponseMessage Response { get; }
        }

        [Fact]
        public void A_request_graph_refuses_still_yields_the_token_it_carried()
        {
            var response = Response("Bearer", "app-only.token.value");
            Func<object?> refuse = () => throw new CmdletInvocationException("Response status code does not indicate success: Forbidden", new RefusedException(response));
            var token = GraphSessionToken.Acquire(Fake(true, Context("Global"), refuse), asked: true);
            Assert.Equal("app-only.token.value".Length, token.Token.Length);
            Assert.True(response.Disposed);

            Func<object?> broken = () => throw new RuntimeException("Authentication needed. Please call Connect-MgGraph.");
            var error = Assert.Throws<PerUserMfaException>(() => GraphSessionToken.Acquire(Fake(true, Context("Global"), broken), asked: true));
            Assert.Contains("could not make a request", error.Message);
        }

        [Fact]
        public void No_module_no_context_or_no_bearer_is_a_clear_error()
        {
            var notLoaded = Assert.Throws<PerUserMfaException>(() => GraphSessionToken.Acquire(Fake(false, null, () => null), asked: false));
            Assert.Equal("GraphSessionNotFound", notLoaded.ErrorId);
            Assert.Contains("without sign-in parameters", notLoaded.Message);
            Assert.Contains("not loaded", notLoaded.Message);
            Assert.Contains("Connect-MgGraph", notLoaded.Message);
            var notConnected = Assert.Throws<PerUserMfaException>(() => GraphSessionToken.Acquire(Fake(true, null, () => null), asked: true));
            Assert.Contains("-UseGraphSession", notConnected.Message);
            Assert.Contains("Get-MgContext returned nothing", notConnected.Message);
            var basic = Assert.Throws<PerUserMfaException>(() => GraphSessionToken.Acquire(Fake(true, Context("Global"), () => Response("Basic", "x")), asked: true));
            Assert.Contains("no bearer token", basic.Message);
            Assert.Null(GraphSessionToken.BearerOf(new object()));
        }
    }

    public sealed class ConnectionInfoTests
    {
        [Fact]
        public void Details_become_a_connection_object_without_the_token()
        {
            var info = ConnectionInfo.Parse("{\"method\":\"ClientSecret\",\"environment\":\"Global\",\"graphEndpoint\":\"https://graph.microsoft.com\",\"authorityHost\":\"https://login.microsoftonline.com\",\"tenantId\":\"t\",\"clientId\":\"c\",\"appDisplayName\":null,\"account\":null,\"permissionType\":\"Application\",\"permissions\":[\"User.Read.All\",\"Policy.Read.All\"],\"tokenExpiresOn\":\"2030-03-17T17:46:40Z\",\"tokenFormat\":\"jwt\",\"certificateThumbprint\":null,\"managedIdentitySource\":null,\"refreshes\":true}");
            var output = info.ToPSObject();
            Assert.Equal("PerUserMfa.Connection", output.TypeNames[0]);
            Assert.Equal(
                new[] { "TenantId", "ClientId", "AppDisplayName", "Account", "SignInMethod", "ManagedIdentitySource", "CertificateThumbprint", "Environment", "GraphEndpoint", "AuthorityHost", "PermissionType", "Permissions", "TokenExpiresOn", "RefreshesToken" },
                output.Properties.Select(p => p.Name).ToArray());
            Assert.Equal(new[] { "User.Read.All", "Policy.Read.All" }, (string[])output.Properties["Permissions"].Value);
            Assert.Equal(new DateTimeOffset(2030, 3, 17, 17, 46, 40, TimeSpan.Zero), (DateTimeOffset)output.Properties["TokenExpiresOn"].Value);
            Assert.True((bool)output.Properties["RefreshesToken"].Value);
            var text = info.Describe();
            Assert.Contains("Signed in with ClientSecret as c in tenant t (Global)", text);
            Assert.Contains("Application permissions: User.Read.All, Policy.Read.All.", text);
            Assert.Contains("refreshed before it expires", text);

            var opaque = ConnectionInfo.Parse("{\"method\":\"AccessToken\",\"environment\":\"Global\",\"tokenFormat\":\"opaque\",\"refreshes\":false}");
            Assert.Contains("not a JWT", opaque.Describe());
            Assert.Null(opaque.ToPSObject().Properties["TokenExpiresOn"].Value);
        }
    }
}
