using System;
using System.Collections.Generic;
using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using PerUserMfa.Input;
using PerUserMfa.Pipeline;

namespace PerUserMfa.Cmdlets
{
    /// <summary>What every cmdlet that runs an engine job shares: the connection check in
    /// BeginProcessing, the <see cref="JobPump"/>, Ctrl+C (StopProcessing cancels the job) and
    /// freeing the job however the command ends.</summary>
    public abstract class JobCmdletBase : PSCmdlet, IDisposable
    {
        private readonly object _pumpGate = new object();
        private IEngineSession? _session;
        private JobPump? _pump;
        private volatile bool _stopping;

        /// <summary>The pump, once <see cref="GetPump"/> made it.</summary>
        internal JobPump? CurrentPump
        {
            get
            {
                lock (_pumpGate)
                {
                    return _pump;
                }
            }
        }

        /// <summary>The connection's engine session, once BeginProcessing found one.</summary>
        internal IEngineSession? EngineSession => _session;

        /// <summary>The -ThrottleLimit value when the caller gave one; otherwise the engine's default applies.</summary>
        internal int? BoundThrottleLimit(int value) =>
            MyInvocation.BoundParameters.ContainsKey("ThrottleLimit") ? value : (int?)null;

        /// <summary>The user ids the input objects name (<see cref="UserInputReader"/>). A row that names no
        /// user is a non-terminating error naming the row; input with no usable column (or only a mail
        /// address) stops the command with one error, before any request for it is sent.</summary>
        internal List<string> ReadUserIds(IEnumerable<object> inputs)
        {
            var userIds = new List<string>();
            foreach (var input in inputs)
            {
                var read = UserInputReader.Read(input);
                if (read.UserId != null)
                {
                    userIds.Add(read.UserId);
                }
                else if (read.StopsTheCommand)
                {
                    ThrowTerminatingError(ErrorRecordFactory.FromException(read.Problem!));
                }
                else
                {
                    WriteError(ErrorRecordFactory.FromException(read.Problem!));
                }
            }

            return userIds;
        }

        /// <summary>Stops the command with one NotConnected error when there is no connection.</summary>
        protected override void BeginProcessing() => _session = JobPump.RequireSession(new CmdletSink(this));

        /// <summary>The command's pump, made at the first call. The request is built then, not in
        /// BeginProcessing: with pipeline input the parameter set is only settled at the first record.</summary>
        internal JobPump GetPump(string request)
        {
            lock (_pumpGate)
            {
                return _pump ??= new JobPump(
                    _session ?? throw new InvalidOperationException("BeginProcessing did not run."),
                    request,
                    new CmdletSink(this));
            }
        }

        /// <summary>Starts the command's next job (a bulk change runs several: read the journal, plan,
        /// apply), freeing the previous one. Stop (Ctrl+C) reaches whichever runs.</summary>
        internal JobPump StartPump(string request)
        {
            JobPump? previous;
            JobPump next;
            lock (_pumpGate)
            {
                if (_stopping)
                {
                    throw new PipelineStoppedException();
                }

                previous = _pump;
                _pump = next = new JobPump(
                    _session ?? throw new InvalidOperationException("BeginProcessing did not run."),
                    request,
                    new CmdletSink(this));
            }

            previous?.Dispose();
            return next;
        }

        protected override void StopProcessing()
        {
            _stopping = true;
            CurrentPump?.Stop();
        }

        public void Dispose()
        {
            JobPump? pump;
            lock (_pumpGate)
            {
                pump = _pump;
                _pump = null;
            }

            pump?.Dispose();
        }
    }
}
