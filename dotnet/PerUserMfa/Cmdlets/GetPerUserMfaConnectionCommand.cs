using System.Management.Automation;
using PerUserMfa.Connection;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Get-PerUserMfaConnection: the session's details, never the token. User help:
    /// docs/help/Get-PerUserMfaConnection.md.</summary>
    [Cmdlet(VerbsCommon.Get, "PerUserMfaConnection", HelpUri = HelpUris.Pages + "Get-PerUserMfaConnection.md")]
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
