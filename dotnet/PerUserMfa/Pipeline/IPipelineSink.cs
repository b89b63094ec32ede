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

        /// <summary>Stops the command with <paramref name="errorRecord"/>; never returns normally.</summary>
        void ThrowTerminatingError(ErrorRecord errorRecord);
    }
}
