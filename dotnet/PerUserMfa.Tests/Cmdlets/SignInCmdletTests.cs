using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using PerUserMfa.Connection;
using PerUserMfa.Json;
using PerUserMfa.Tests.Fakes;
using Xunit;

namespace PerUserMfa.Tests.Cmdlets
{
    /// <summary>Connect-PerUserMfa's parameter sets and Get-PerUserMfaConnection on a fake engine.</summary>
    [Collection(ConnectionStateCollection.Name)]
    public sealed class SignInCmdletTests : IDisposable
    {
        private readonly CmdletRunspace _runspace = new CmdletRunspace();
        private readonly List<(string Endpoint, JsonObject Options, int SecretLength)> _opened = new List<(string, JsonObject, int)>();

        public SignInCmdletTests()
        {
            Connector.OpenSession = (endpoint, options, secret) =>
            {
                _opened.Add((endpoint, JsonReader.ParseObject(options), secret?.Length ?? -1));
                return new FakeEngineSession(endpoint) { Info = "{\"method\":\"ClientSecret\",\"environment\":\"Global\",\"tenantId\":\"t\",\"clientId\":\"c\",\"permissions\":[\"User.Read.All\"],\"permissionType\":\"Application\",\"tokenFormat\":\"jwt\",\"refreshes\":true}" };
            };
        }

        public void Dispose() => _runspace.Dispose();

        [Fact]
        public void Client_secret_sends_tenant_and_app_in_the_options_and_the_secret_apart()
        {
            _runspace.SetSecret("secret", "s3cret-value");
            _runspace.Run("Connect-PerUserMfa -TenantId contoso.onmicrosoft.com -ClientId app-1 -ClientSecret $secret -Environment usgov", out var errors);
            Assert.Empty(errors);
            var call = Assert.Single(_opened);
            Assert.Equal("https://graph.microsoft.us", call.Endpoint);
            Assert.Equal("USGov", call.Options["environment"]);
            var auth = (JsonObject)call.Options["auth"]!;
            Assert.Equal("clientSecret", auth["kind"]);
            Assert.Equal("contoso.onmicrosoft.com", auth["tenantId"]);
            Assert.Equal("app-1", auth["clientId"]);
            Assert.Equal("s3cret-value".Length, call.SecretLength);
            Assert.DoesNotContain("s3cret", call.Options.ToString());
        }

        [Fact]
        public void Identity_reads_the_host_environment()
        {
            var names = new[] { "IDENTITY_ENDPOINT", "IDENTITY_HEADER" };
            try
            {
                Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", "http://127.0.0.1:40000/msi/token");
                Environment.SetEnvironmentVariable("IDENTITY_HEADER", "hdr");
                _runspace.Run("Connect-PerUserMfa -Identity -ClientId user-mi -AuthorityHost http://127.0.0.1:1", out var errors);
                Assert.Empty(errors);
                var call = Assert.Single(_opened);
                var auth = (JsonObject)call.Options["auth"]!;
                Assert.Equal("managedIdentity", auth["kind"]);
                Assert.Equal("user-mi", auth["clientId"]);
                Assert.Equal("IDENTITY_HEADER", auth["secretVariable"]);
                Assert.Equal("http://127.0.0.1:40000/msi/token", ((JsonObject)auth["environmentVariables"]!)["IDENTITY_ENDPOINT"]);
                Assert.Equal(3, call.SecretLength);
                Assert.Equal("http://127.0.0.1:1", call.Options["authorityHost"]);
            }
            finally
            {
                foreach (var name in names)
                {
                    Environment.SetEnvironmentVariable(name, null);
                }
            }
        }

        [Fact]
        public void Azure_cli_passes_the_session_path()
        {
            _runspace.Run("Connect-PerUserMfa -AzureCli -TenantId t-1", out var errors);
            Assert.Empty(errors);
            var auth = (JsonObject)Assert.Single(_opened).Options["auth"]!;
            Assert.Equal("azureCli", auth["kind"]);
            Assert.Equal("t-1", auth["tenantId"]);
            Assert.Equal(Environment.GetEnvironmentVariable("PATH"), auth["path"]);
        }

        [Fact]
        public void Without_parameters_it_looks_for_a_graph_session_and_says_when_there_is_none()
        {
            var error = _runspace.RunTerminating("Connect-PerUserMfa");
            Assert.StartsWith("PerUserMfa.GraphSessionNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            Assert.Contains("Connect-MgGraph", error.Exception.Message);
            Assert.Empty(_opened);
        }

        [Fact]
        public void Parameter_sets_are_the_documented_ones()
        {
            var command = (CmdletInfo)_runspace.Run("Get-Command Connect-PerUserMfa", out _)[0].BaseObject;
            Assert.Equal(
                new[] { "AccessToken", "AzureCli", "CertificatePath", "CertificateThumbprint", "ClientSecret", "GraphSession", "ManagedIdentity" },
                command.ParameterSets.Select(s => s.Name).OrderBy(n => n).ToArray());
            Assert.Equal(typeof(SecureString), command.Parameters["ClientSecret"].ParameterType);
            Assert.Equal(typeof(SecureString), command.Parameters["CertificatePassword"].ParameterType);
            var error = _runspace.RunTerminating("Connect-PerUserMfa -TenantId t -ClientId c -ClientSecret 'plain text'");
            Assert.StartsWith("CannotConvertArgumentNoMessage", error.FullyQualifiedErrorId);
        }

        [Fact]
        public void A_bad_certificate_path_stops_before_the_engine_is_asked()
        {
            var error = _runspace.RunTerminating("Connect-PerUserMfa -TenantId t -ClientId c -CertificatePath ./does-not-exist.pfx");
            Assert.StartsWith("PerUserMfa.InvalidCertificate,", error.FullyQualifiedErrorId);
            Assert.Empty(_opened);
        }

        [Fact]
        public void Get_connection_shows_the_details_or_nothing()
        {
            Assert.Empty(_runspace.Run("Get-PerUserMfaConnection", out _));
            _runspace.SetSecret("token", "t");
            _runspace.Run("Connect-PerUserMfa -AccessToken $token -Verbose 4>$null", out _);
            var output = Assert.Single(_runspace.Run("Get-PerUserMfaConnection", out _));
            Assert.Equal("PerUserMfa.Connection", output.TypeNames[0]);
            Assert.Equal("ClientSecret", output.Properties["SignInMethod"].Value);
            Assert.Equal(new[] { "User.Read.All" }, (string[])output.Properties["Permissions"].Value);
            var verbose = _runspace.Run("Connect-PerUserMfa -AccessToken $token -Verbose 4>&1", out _).Select(o => o.BaseObject).OfType<VerboseRecord>().Select(v => v.Message).ToList();
            Assert.Equal(2, verbose.Count);
            Assert.StartsWith("Signed in with ClientSecret", verbose[1]);
        }
    }
}
