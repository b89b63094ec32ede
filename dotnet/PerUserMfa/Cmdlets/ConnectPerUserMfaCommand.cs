using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Security;
using System.Threading;
using PerUserMfa.Connection;
using PerUserMfa.Errors;
using PerUserMfa.Json;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Connect-PerUserMfa: opens the session the other cmdlets use, one parameter set per way to
    /// sign in; sign-in itself happens in the engine. User help: docs/help/Connect-PerUserMfa.md.</summary>
    [Cmdlet(VerbsCommunications.Connect, "PerUserMfa", DefaultParameterSetName = GraphSessionSet, HelpUri = HelpUris.Pages + "Connect-PerUserMfa.md")]
    public sealed class ConnectPerUserMfaCommand : PSCmdlet, IDisposable
    {
        /// <summary>Set by Ctrl+C: a sign-in still waiting for its authority is abandoned.</summary>
        private readonly ManualResetEventSlim _stopping = new ManualResetEventSlim(false);

        private const string GraphSessionSet = "GraphSession";
        private const string AccessTokenSet = "AccessToken";
        private const string ClientSecretSet = "ClientSecret";
        private const string CertificatePathSet = "CertificatePath";
        private const string CertificateThumbprintSet = "CertificateThumbprint";
        private const string IdentitySet = "ManagedIdentity";
        private const string AzureCliSet = "AzureCli";

        /// <summary>Reuse the token of the Connect-MgGraph session (the default when no other sign-in parameter is given).</summary>
        [Parameter(ParameterSetName = GraphSessionSet)]
        public SwitchParameter UseGraphSession { get; set; }

        /// <summary>A Microsoft Graph access token, as a SecureString. It is handed to the engine
        /// without ever becoming a plain string. It cannot be refreshed.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AccessTokenSet)]
        [ValidateNotNull]
        public SecureString AccessToken { get; set; } = null!;

        /// <summary>The directory (tenant) id, or a verified domain such as contoso.onmicrosoft.com.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
        [Parameter(Mandatory = true, ParameterSetName = CertificatePathSet)]
        [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
        [Parameter(ParameterSetName = AzureCliSet)]
        [ValidateNotNullOrEmpty]
        public string TenantId { get; set; } = null!;

        /// <summary>The application (client) id of the app registration; with -Identity, the client id of a
        /// user-assigned managed identity (without it: the system-assigned identity).</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
        [Parameter(Mandatory = true, ParameterSetName = CertificatePathSet)]
        [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
        [Parameter(ParameterSetName = IdentitySet)]
        [Alias("ApplicationId", "AppId")]
        [ValidateNotNullOrEmpty]
        public string ClientId { get; set; } = null!;

        /// <summary>The client secret's Value, as a SecureString.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
        [ValidateNotNull]
        public SecureString ClientSecret { get; set; } = null!;

        /// <summary>A .pfx/.p12 file, or a PEM file with the certificate and its unencrypted private key.</summary>
        [Parameter(Mandatory = true, ParameterSetName = CertificatePathSet)]
        [ValidateNotNullOrEmpty]
        public string CertificatePath { get; set; } = null!;

        /// <summary>The .pfx file's password.</summary>
        [Parameter(ParameterSetName = CertificatePathSet)]
        public SecureString? CertificatePassword { get; set; }

        /// <summary>The thumbprint of a certificate (with its private key) in Cert:\CurrentUser\My or Cert:\LocalMachine\My.</summary>
        [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
        [ValidateNotNullOrEmpty]
        public string CertificateThumbprint { get; set; } = null!;

        /// <summary>Sign in as the managed identity of the Azure host (Automation, App Service, Functions, VM, Arc).</summary>
        [Parameter(Mandatory = true, ParameterSetName = IdentitySet)]
        [Alias("ManagedIdentity")]
        public SwitchParameter Identity { get; set; }

        /// <summary>Sign in as the account the Azure CLI is signed in with (az login).</summary>
        [Parameter(Mandatory = true, ParameterSetName = AzureCliSet)]
        public SwitchParameter AzureCli { get; set; }

        /// <summary>The Microsoft cloud: Global (default), USGov, USGovDoD or China. Selects the Graph endpoint and the Entra ID authority.</summary>
        [Parameter]
        [ValidateSet("Global", "USGov", "USGovDoD", "China", IgnoreCase = true)]
        public string? Environment { get; set; }

        /// <summary>The Graph endpoint: https, or http only for a loopback address. Default: the environment's.</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? GraphEndpoint { get; set; }

        /// <summary>The Entra ID authority host: https, or http only for a loopback address. Default: the environment's.</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? AuthorityHost { get; set; }

        protected override void StopProcessing() => _stopping.Set();

        public void Dispose() => _stopping.Dispose();

        protected override void EndProcessing()
        {
            var sink = new CmdletSink(this);
            try
            {
                Connect(sink);
            }
            catch (PerUserMfaException e)
            {
                ThrowTerminatingError(ErrorRecordFactory.FromException(e));
            }
        }

        private void Connect(IPipelineSink sink)
        {
            var userAgent = UserAgent.For(this);
            var environment = SignInOptions.CanonicalEnvironment(Environment);
            switch (ParameterSetName)
            {
                case AccessTokenSet:
                    if (AccessToken.Length == 0)
                    {
                        throw new PerUserMfaException(
                            "The access token is empty. Pass the token Microsoft Graph issued, for example: Connect-PerUserMfa -AccessToken (Read-Host -AsSecureString 'Token').",
                            "InvalidInput",
                            ErrorCategory.InvalidArgument);
                    }

                    // The engine refuses a JWT that is cut short, for another resource or cloud, or expired.
                    Open(sink, environment ?? SignInOptions.Global, SignInOptions.AccessToken(), AccessToken, userAgent);
                    if (ConnectionContext.Current is { } connected && ConnectionInfo.TryRead(connected)?.Get("tokenFormat") == "opaque")
                    {
                        WriteVerbose("The access token is not a JWT, so its audience, expiry and permissions cannot be read here; Graph judges it at the first request.");
                    }

                    return;

                case ClientSecretSet:
                    if (ClientSecret.Length == 0)
                    {
                        throw new PerUserMfaException("-ClientSecret is empty. Pass the secret's Value from the app registration (Certificates & secrets).", "InvalidInput", ErrorCategory.InvalidArgument);
                    }

                    WriteVerbose($"Signing in as app {ClientId} in tenant {TenantId} with a client secret.");
                    Open(sink, environment ?? SignInOptions.Global, SignInOptions.ClientSecret(TenantId, ClientId), ClientSecret, userAgent);
                    return;

                case CertificatePathSet:
                case CertificateThumbprintSet:
                    using (var certificate = ParameterSetName == CertificatePathSet
                        ? CertificateLoader.FromFile(SessionState.Path.GetUnresolvedProviderPathFromPSPath(CertificatePath), CertificatePassword)
                        : CertificateLoader.FromStore(CertificateThumbprint))
                    {
                        WriteVerbose($"Signing in as app {ClientId} in tenant {TenantId} with certificate {certificate.Subject} (thumbprint {certificate.Thumbprint}, valid until {certificate.NotAfter:u}).");
                        if (certificate.NotAfter < DateTime.Now)
                        {
                            WriteWarning($"The certificate {certificate.Thumbprint} expired on {certificate.NotAfter:d}. Entra ID refuses an expired certificate: create a new one and upload it to the app registration.");
                        }

                        Open(sink, environment ?? SignInOptions.Global, SignInOptions.Certificate(TenantId, ClientId, certificate.Thumbprint), certificate.PrivateKey, userAgent);
                    }

                    return;

                case IdentitySet:
                {
                    var variables = ManagedIdentityEnvironment.Read(System.Environment.GetEnvironmentVariable);
                    WriteVerbose($"Signing in as the {(MyInvocation.BoundParameters.ContainsKey(nameof(ClientId)) ? "user-assigned managed identity " + ClientId : "system-assigned managed identity")} through {variables.Describe()}.");
                    using (var secret = variables.Secret())
                    {
                        var clientId = MyInvocation.BoundParameters.ContainsKey(nameof(ClientId)) ? ClientId : null;
                        Open(sink, environment ?? SignInOptions.Global, SignInOptions.ManagedIdentity(clientId, variables), secret, userAgent);
                    }

                    return;
                }

                case AzureCliSet:
                {
                    var tenant = MyInvocation.BoundParameters.ContainsKey(nameof(TenantId)) ? TenantId : null;
                    WriteVerbose("Signing in with the Azure CLI's account (az account get-access-token).");
                    Open(sink, environment ?? SignInOptions.Global, SignInOptions.AzureCli(tenant, System.Environment.GetEnvironmentVariable("PATH")), null, userAgent);
                    return;
                }

                default:
                {
                    var session = GraphSessionToken.Acquire(InvokeInCallerScope, UseGraphSession.IsPresent);
                    using (session.Token)
                    {
                        WriteVerbose($"Reusing the Microsoft Graph PowerShell session{(session.Account != null ? " of " + session.Account : string.Empty)}{(session.TenantId != null ? " in tenant " + session.TenantId : string.Empty)}. Its token cannot be refreshed by PerUserMfa: when it expires, run Connect-PerUserMfa again.");
                        Open(sink, environment ?? session.Environment ?? SignInOptions.Global, SignInOptions.GraphSession(), session.Token, userAgent);
                    }

                    return;
                }
            }
        }

        private IList<PSObject> InvokeInCallerScope(string script) => InvokeCommand.InvokeScript(script);

        private void Open(IPipelineSink sink, string environment, Action<JsonWriter> auth, SecureString? secret, string userAgent)
        {
            var endpoint = SignInOptions.GraphEndpointFor(environment, GraphEndpoint);
            var options = SignInOptions.Build(endpoint, environment, AuthorityHost, auth, userAgent);
            Connector.Connect(sink, endpoint, options, secret, _stopping.WaitHandle);
        }
    }
}
