using System;
using System.Management.Automation;
using System.Security;
using PerUserMfa.Connection;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// <para type="synopsis">Connects PerUserMfa to Microsoft Graph.</para>
    /// <para type="description">Opens the connection the other PerUserMfa cmdlets use. Connecting
    /// again replaces the previous connection. Each way to sign in is its own parameter set
    /// (today: AccessToken).</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "PerUserMfa", DefaultParameterSetName = AccessTokenSet)]
    public sealed class ConnectPerUserMfaCommand : PSCmdlet
    {
        private const string AccessTokenSet = "AccessToken";

        /// <summary>A Microsoft Graph access token, as a SecureString. It is handed to the engine
        /// without ever becoming a plain string.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AccessTokenSet)]
        [ValidateNotNull]
        public SecureString AccessToken { get; set; } = null!;

        /// <summary>The Graph endpoint: https, or http only for a loopback address. Default https://graph.microsoft.com.</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri GraphEndpoint { get; set; } = new Uri(Connector.DefaultGraphEndpoint);

        protected override void EndProcessing() =>
            Connector.ConnectWithAccessToken(new CmdletSink(this), GraphEndpoint, AccessToken, UserAgent.For(this));
    }
}
