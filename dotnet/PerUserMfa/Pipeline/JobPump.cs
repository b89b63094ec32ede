using System;
using System.Collections.Generic;
using System.Management.Automation;
using PerUserMfa.Connection;
using PerUserMfa.Engine;
using PerUserMfa.Errors;
using PerUserMfa.Json;
using PerUserMfa.Output;

namespace PerUserMfa.Pipeline
{
    /// <summary>
    /// Drives one engine job for one cmdlet invocation, on the pipeline thread: starts the job
    /// (lazily, at the first input), pushes input, drains events into the cmdlet's streams and
    /// ends the progress bar. <see cref="Stop"/> (StopProcessing, another thread) cancels the job;
    /// the drain loop polls with a short timeout so the pipeline stops within a poll interval.
    /// </summary>
    internal sealed class JobPump : IDisposable
    {
        /// <summary>How long one <c>pumfa_job_next</c> waits while draining to the end.</summary>
        public const uint PollMilliseconds = 200;

        private readonly IEngineSession _session;
        private readonly string _request;
        private readonly IPipelineSink _sink;
        private readonly object _gate = new object();

        private IEngineJob? _job;
        private volatile bool _stopRequested;
        private bool _finished;
        private string? _progressActivity;

        /// <param name="session">The session to run the job on.</param>
        /// <param name="request">The job request JSON (<see cref="EngineRequests"/>).</param>
        /// <param name="sink">Where events go.</param>
        public JobPump(IEngineSession session, string request, IPipelineSink sink)
        {
            _session = session ?? throw new ArgumentNullException(nameof(session));
            _request = request ?? throw new ArgumentNullException(nameof(request));
            _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        }

        /// <summary>The current connection's session, or the NotConnected terminating error.</summary>
        public static IEngineSession RequireSession(IPipelineSink sink)
        {
            var session = ConnectionContext.Current;
            if (session == null)
            {
                sink.ThrowTerminatingError(ErrorRecordFactory.NotConnected());
                throw new InvalidOperationException("ThrowTerminatingError returned.");
            }

            return session;
        }

        /// <summary>Sees every event first; returns true when it handled the event itself (the bulk
        /// change cmdlets collect plans and results this way). Runs on the pipeline thread.</summary>
        public Func<EngineEvent, bool>? Handler { get; set; }

        /// <summary>Whether the job has been started.</summary>
        public bool IsStarted
        {
            get
            {
                lock (_gate)
                {
                    return _job != null;
                }
            }
        }

        /// <summary>Pushes users (starting the job if needed), then writes whatever events are
        /// ready without waiting, so results stream out while input still arrives.</summary>
        public void Push(IReadOnlyList<string> userIds)
        {
            if (userIds.Count == 0)
            {
                return;
            }

            Guard(() =>
            {
                var job = EnsureStarted();
                job.Push(userIds);
                Drain(job, untilDone: false);
            });
        }

        /// <summary>Pushes a whole input document (<c>{"changes":[...]}</c>), starting the job if needed,
        /// then writes whatever events are ready without waiting.</summary>
        public void PushInput(string inputJson)
        {
            Guard(() =>
            {
                var job = EnsureStarted();
                job.PushInput(inputJson);
                Drain(job, untilDone: false);
            });
        }

        /// <summary>For jobs that take no input (listing): starts the job, closes its input and drains it to the end.</summary>
        public void Run()
        {
            Guard(() =>
            {
                var job = EnsureStarted();
                job.CloseInput();
                Drain(job, untilDone: true);
            });
        }

        /// <summary>For jobs fed by <see cref="Push"/>: closes the input and drains to the end; nothing
        /// to do when no input was ever pushed.</summary>
        public void Finish()
        {
            IEngineJob? job;
            lock (_gate)
            {
                job = _job;
            }

            if (job == null || _finished)
            {
                return;
            }

            Guard(() =>
            {
                job.CloseInput();
                Drain(job, untilDone: true);
            });
        }

        /// <summary>Cancels the job; safe from any thread (StopProcessing), before or after it started.</summary>
        public void Stop()
        {
            IEngineJob? job;
            lock (_gate)
            {
                _stopRequested = true;
                job = _job;
            }

            job?.Cancel();
        }

        /// <summary>Frees the job (which cancels it if it still runs).</summary>
        public void Dispose()
        {
            IEngineJob? job;
            lock (_gate)
            {
                job = _job;
                _job = null;
                _finished = true;
            }

            job?.Dispose();
        }

        private IEngineJob EnsureStarted()
        {
            lock (_gate)
            {
                ThrowIfStopping();
                if (_finished)
                {
                    throw new InvalidOperationException("The job has already finished.");
                }

                return _job ??= _session.StartJob(_request);
            }
        }

        private void Drain(IEngineJob job, bool untilDone)
        {
            while (true)
            {
                ThrowIfStopping();
                var result = job.Next(untilDone ? PollMilliseconds : 0, out var engineEvent);
                switch (result)
                {
                    case JobNextResult.Done:
                        _finished = true;
                        CompleteProgress();
                        return;
                    case JobNextResult.Timeout:
                        if (!untilDone)
                        {
                            return;
                        }

                        continue;
                    default:
                        Dispatch(engineEvent!);
                        break;
                }
            }
        }

        private void Dispatch(EngineEvent engineEvent)
        {
            if (Handler != null && Handler(engineEvent))
            {
                return;
            }

            switch (engineEvent.Type)
            {
                case EngineEvent.UserState:
                    _sink.WriteObject(OutputFactory.CreateUserState(UserStateEvent.From(engineEvent)));
                    break;
                case EngineEvent.UserReport:
                    _sink.WriteObject(UserReportFactory.Create(UserReportEvent.From(engineEvent)));
                    break;
                case EngineEvent.MigrationCheck:
                    _sink.WriteObject(MigrationCheckFactory.Create(MigrationCheckEvent.From(engineEvent)));
                    break;
                case EngineEvent.Error:
                    _sink.WriteError(ErrorRecordFactory.FromEvent(engineEvent));
                    break;
                case EngineEvent.Fatal:
                    Terminate(ErrorRecordFactory.FromEvent(engineEvent));
                    break;
                case EngineEvent.Progress:
                    var progress = ProgressEvent.From(engineEvent);
                    _progressActivity = ProgressFactory.ActivityOf(progress);
                    _sink.WriteProgress(ProgressFactory.Create(progress));
                    break;
                case EngineEvent.Verbose:
                    _sink.WriteVerbose(MessageEvent.From(engineEvent).Message ?? string.Empty);
                    break;
                case EngineEvent.Warning:
                    _sink.WriteWarning(MessageEvent.From(engineEvent).Message ?? string.Empty);
                    break;
                case EngineEvent.Information:
                    _sink.WriteInformation(MessageEvent.From(engineEvent).Message ?? string.Empty);
                    break;
                default:
                    // An event type a newer engine added: ignored (forward compatibility).
                    break;
            }
        }

        /// <summary>Runs a step and turns engine failures into one terminating error record.
        /// PipelineStoppedException and the terminating error itself pass through.</summary>
        private void Guard(Action step)
        {
            try
            {
                step();
            }
            catch (EngineException e)
            {
                Terminate(ErrorRecordFactory.FromEvent(e.Error));
            }
            catch (PerUserMfaException e)
            {
                Terminate(ErrorRecordFactory.FromException(e));
            }
            catch (JsonFormatException e)
            {
                Terminate(ErrorRecordFactory.ProtocolError(e));
            }
        }

        private void Terminate(ErrorRecord errorRecord)
        {
            _finished = true;
            CompleteProgress();
            _sink.ThrowTerminatingError(errorRecord);
            throw new InvalidOperationException("ThrowTerminatingError returned.");
        }

        private void CompleteProgress()
        {
            if (_progressActivity == null)
            {
                return;
            }

            var activity = _progressActivity;
            _progressActivity = null;
            _sink.WriteProgress(ProgressFactory.Completed(activity));
        }

        private void ThrowIfStopping()
        {
            if (_stopRequested)
            {
                throw new PipelineStoppedException();
            }
        }
    }
}
