using System.Management.Automation;

namespace PerUserMfa.Pipeline
{
    /// <summary>An <see cref="IPipelineSink"/> over a running cmdlet.</summary>
    internal sealed class CmdletSink : IPipelineSink
    {
        private readonly Cmdlet _cmdlet;

        public CmdletSink(Cmdlet cmdlet)
        {
            _cmdlet = cmdlet;
        }

        public void WriteObject(object value) => _cmdlet.WriteObject(value);

        public void WriteError(ErrorRecord errorRecord) => _cmdlet.WriteError(errorRecord);

        public void WriteProgress(ProgressRecord progressRecord) => _cmdlet.WriteProgress(progressRecord);

        public void WriteVerbose(string message) => _cmdlet.WriteVerbose(message);

        public void WriteWarning(string message) => _cmdlet.WriteWarning(message);

        public void WriteInformation(string message) =>
            _cmdlet.WriteInformation(new HostInformationMessage { Message = message }, new[] { "PSHOST" });

        public void ThrowTerminatingError(ErrorRecord errorRecord) => _cmdlet.ThrowTerminatingError(errorRecord);
    }
}
