using System;
using System.Collections.Generic;
using System.Management.Automation;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Tests.Fakes
{
    /// <summary>Records what a cmdlet would write; a terminating error throws <see cref="TerminatedException"/>.</summary>
    internal sealed class RecordingSink : IPipelineSink
    {
        public List<object> Objects { get; } = new List<object>();

        public List<ErrorRecord> Errors { get; } = new List<ErrorRecord>();

        public List<ProgressRecord> Progress { get; } = new List<ProgressRecord>();

        public List<string> Verbose { get; } = new List<string>();

        public List<string> Warnings { get; } = new List<string>();

        public List<string> Information { get; } = new List<string>();

        /// <summary>Every call in order, e.g. "object", "error", "progress:Processing", "terminate".</summary>
        public List<string> Log { get; } = new List<string>();

        public void WriteObject(object value)
        {
            Objects.Add(value);
            Log.Add("object");
        }

        public void WriteError(ErrorRecord errorRecord)
        {
            Errors.Add(errorRecord);
            Log.Add("error");
        }

        public void WriteProgress(ProgressRecord progressRecord)
        {
            Progress.Add(progressRecord);
            Log.Add("progress:" + progressRecord.RecordType);
        }

        public void WriteVerbose(string message)
        {
            Verbose.Add(message);
            Log.Add("verbose");
        }

        public void WriteWarning(string message)
        {
            Warnings.Add(message);
            Log.Add("warning");
        }

        public void WriteInformation(string message)
        {
            Information.Add(message);
            Log.Add("information");
        }

        public void ThrowTerminatingError(ErrorRecord errorRecord)
        {
            Log.Add("terminate");
            throw new TerminatedException(errorRecord);
        }
    }

    internal sealed class TerminatedException : Exception
    {
        public TerminatedException(ErrorRecord record)
            : base(record.Exception.Message)
        {
            Record = record;
        }

        public ErrorRecord Record { get; }
    }
}
