using System.Management.Automation;

namespace PerUserMfa.Pipeline
{
    /// <summary>The streams a cmdlet writes to. Only the pipeline thread calls these.
    /// <see cref="CmdletSink"/> forwards to a cmdlet; tests record.</summary>
    internal interface IPipelineSink
    {
        void WriteObject(object value);

        void WriteError(ErrorRecord errorRecord);

        void WriteProgress(ProgressRecord progressRecord);

        void WriteVerbose(string message);

        void WriteWarning(string message);

        /// <summary>A message for the admin, shown like Write-Host (information stream, tag PSHOST;
        /// capture it with 6>).</summary>
        void WriteInformation(string message);

        /// <summary>Stops the command with <paramref name="errorRecord"/>; never returns normally.</summary>
        void ThrowTerminatingError(ErrorRecord errorRecord);
    }
}
