using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using PerUserMfa.Cmdlets;
using PerUserMfa.Connection;
using PerUserMfa.Engine;
using PerUserMfa.Json;
using PerUserMfa.Tests.Fakes;
using Xunit;

namespace PerUserMfa.Tests.Cmdlets
{
    /// <summary>Connect-PerUserMfa's parameter sets and Get-PerUserMfaConnection on a fake engine.</summary>
    [Collection(ConnectionStateCollection.Name)]
    public sealed class SignInCmdletTests : IDisposable
    {
        private readonly Runspace _runspace;
        private readonly Func<string, string, SecureString?, IEngineSession> _originalOpener = Connector.OpenSession;
        private readonly List<(string Endpoint, JsonObject Options, int SecretLength)> _opened = new List<(string, JsonObject, int)>();

        public SignInCmdletTests()
        {
            ConnectionContext.Disconnect();
            var state = InitialSessionState.CreateDefault();
            state.Commands.Add(new SessionStateCmdletEntry("Connect-PerUserMfa", typeof(ConnectPerUserMfaCommand), null));
            state.Commands.Add(new SessionStateCmdletEntry("Get-PerUserMfaConnection", typeof(GetPerUserMfaConnectionCommand), null));
            _runspace = RunspaceFactory.CreateRunspace(state);
            _runspace.Open();
            Connector.OpenSession = (endpoint, options, secret) =>
            {
                _opened.Add((endpoint, JsonReader.ParseObject(options), secret?.Length ?? -1));
                return new FakeEngineSession(endpoint) { Info = "{\"method\":\"ClientSecret\",\"environment\":\"Global\",\"tenantId\":\"t\",\"clientId\":\"c\",\"permissions\":[\"User.Read.All\"],\"permissionType\":\"Application\",\"tokenFormat\":\"jwt\",\"refreshes\":true}" };
            };
        }

        public void Dispose()
        {
            Connector.OpenSession = _originalOpener;
            ConnectionContext.Disconnect();
            _runspace.Dispose();
        }

        private Collection<PSObject> Run(string script, out List<ErrorRecord> errors)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            var output = ps.Invoke();
            errors = ps.Streams.Error.ToList();
            return output;
        }

        private ErrorRecord RunTerminating(string script)
        {
            var output = Run("$Error.Clear(); try { " + script + "; 'not stopped' } catch { $_; $Error.Count }", out _);
            Assert.Equal(2, output.Count);
            Assert.Equal(1, output[1].BaseObject);
            return Assert.IsType<ErrorRecord>(output[0].BaseObject);
        }

        private void SetSecret(string name, string value)
        {
            var secure = new SecureString();
            foreach (var c in value)
            {
                secure.AppendChar(c);
            }

            _runspace.SessionStateProxy.SetVariable(name, secure);
        }

        [Fact]
        public void Client_secret_sends_tenant_and_app_in_the_options_and_the_secret_apart()
        {
            SetSecret("secret", "s3cret-value");
            Run("Connect-PerUserMfa -TenantId contoso.onmicrosoft.com -ClientId app-1 -ClientSecret $secret -Environment usgov", out var errors);
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
                Run("Connect-PerUserMfa -Identity -ClientId user-mi -AuthorityHost http://127.0.0.1:1", out var errors);
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
            Run("Connect-PerUserMfa -AzureCli -TenantId t-1", out var errors);
            Assert.Empty(errors);
            var auth = (JsonObject)Assert.Single(_opened).Options["auth"]!;
            Assert.Equal("azureCli", auth["kind"]);
            Assert.Equal("t-1", auth["tenantId"]);
            Assert.Equal(Environment.GetEnvironmentVariable("PATH"), auth["path"]);
        }

        [Fact]
        public void Without_parameters_it_looks_for_a_graph_session_and_says_when_there_is_none()
        {
            var error = RunTerminating("Connect-PerUserMfa");
            Assert.StartsWith("PerUserMfa.GraphSessionNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            Assert.Contains("Connect-MgGraph", error.Exception.Message);
            Assert.Empty(_opened);
        }

        [Fact]
        public void Parameter_sets_are_the_documented_ones()
        {
            var command = (CmdletInfo)Run("Get-Command Connect-PerUserMfa", out _)[0].BaseObject;
            Assert.Equal(
                new[] { "AccessToken", "AzureCli", "CertificatePath", "CertificateThumbprint", "ClientSecret", "GraphSession", "ManagedIdentity" },
                command.ParameterSets.Select(s => s.Name).OrderBy(n => n).ToArray());
            Assert.Equal(typeof(SecureString), command.Parameters["ClientSecret"].ParameterType);
            Assert.Equal(typeof(SecureString), command.Parameters["CertificatePassword"].ParameterType);
            var error = RunTerminating("Connect-PerUserMfa -TenantId t -ClientId c -ClientSecret 'plain text'");
            Assert.StartsWith("CannotConvertArgumentNoMessage", error.FullyQualifiedErrorId);
        }

        [Fact]
        public void A_bad_certificate_path_stops_before_the_engine_is_asked()
        {
            var error = RunTerminating("Connect-PerUserMfa -TenantId t -ClientId c -CertificatePath ./does-not-exist.pfx");
            Assert.StartsWith("PerUserMfa.InvalidCertificate,", error.FullyQualifiedErrorId);
            Assert.Empty(_opened);
        }

        [Fact]
        public void Get_connection_shows_the_details_or_nothing()
        {
            Assert.Empty(Run("Get-PerUserMfaConnection", out _));
            SetSecret("token", "t");
            Run("Connect-PerUserMfa -AccessToken $token -Verbose 4>$null", out _);
            var output = Assert.Single(Run("Get-PerUserMfaConnection", out _));
            Assert.Equal("PerUserMfa.Connection", output.TypeNames[0]);
            Assert.Equal("ClientSecret", output.Properties["SignInMethod"].Value);
            Assert.Equal(new[] { "User.Read.All" }, (string[])output.Properties["Permissions"].Value);
            var verbose = Run("Connect-PerUserMfa -AccessToken $token -Verbose 4>&1", out _).Select(o => o.BaseObject).OfType<VerboseRecord>().Select(v => v.Message).ToList();
            Assert.Equal(2, verbose.Count);
            Assert.StartsWith("Signed in with ClientSecret", verbose[1]);
        }
    }
}
