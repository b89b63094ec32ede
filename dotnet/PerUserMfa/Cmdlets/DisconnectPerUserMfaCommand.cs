using System.Management.Automation;
using PerUserMfa.Connection;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// <para type="synopsis">Closes the PerUserMfa connection to Microsoft Graph.</para>
    /// <para type="description">Does nothing (and reports no error) when not connected.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "PerUserMfa")]
    public sealed class DisconnectPerUserMfaCommand : PSCmdlet
    {
        protected override void EndProcessing() => Connector.Disconnect(new CmdletSink(this));
    }
}
