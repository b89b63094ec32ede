using System.Management.Automation;
using PerUserMfa.Connection;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// <para type="synopsis">Shows the current PerUserMfa connection: tenant, app, how it signed in,
    /// cloud, the token's permissions and expiry (never the token).</para>
    /// <para type="description">Writes one PerUserMfa.Connection object, or nothing when not connected.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "PerUserMfaConnection")]
    [OutputType(ConnectionInfo.TypeName)]
    public sealed class GetPerUserMfaConnectionCommand : PSCmdlet
    {
        protected override void EndProcessing()
        {
            var session = ConnectionContext.Current;
            if (session == null)
            {
                WriteVerbose("Not connected. Run Connect-PerUserMfa.");
                return;
            }

            var info = ConnectionInfo.TryRead(session);
            if (info == null)
            {
                WriteVerbose("The connection was closed.");
                return;
            }

            WriteObject(info.ToPSObject());
        }
    }
}
