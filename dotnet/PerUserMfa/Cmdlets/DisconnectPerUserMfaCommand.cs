using System.Management.Automation;
using PerUserMfa.Connection;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Disconnect-PerUserMfa: closes the session, if any. User help: docs/help/Disconnect-PerUserMfa.md.</summary>
    [Cmdlet(VerbsCommunications.Disconnect, "PerUserMfa", HelpUri = HelpUris.Pages + "Disconnect-PerUserMfa.md")]
    public sealed class DisconnectPerUserMfaCommand : PSCmdlet
    {
        protected override void EndProcessing() => Connector.Disconnect(new CmdletSink(this));
    }
}
