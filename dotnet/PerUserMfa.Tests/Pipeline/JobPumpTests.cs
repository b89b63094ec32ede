using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using PerUserMfa.Engine;
using PerUserMfa.Pipeline;
using PerUserMfa.Tests.Fakes;
using Xunit;

namespace PerUserMfa.Tests.Pipeline
{
    public class JobPumpTests
    {
        private const string Request = "{\"operation\":\"getStates\",\"scope\":\"input\"}";

        private readonly FakeEngineSession _session = new FakeEngineSession();
        private readonly RecordingSink _sink = new RecordingSink();

        private JobPump NewPump() => new JobPump(_session, Request, _sink);

        [Fact]
        public void Starts_the_job_lazily_at_the_first_push()
        {
            using var pump = NewPump();
            Assert.False(pump.IsStarted);
            pump.Push(Array.Empty<string>());
            Assert.False(pump.IsStarted);
            Assert.Empty(_session.Jobs);

            pump.Push(new[] { "a@contoso.com" });
            Assert.True(pump.IsStarted);
            Assert.Equal(Request, Assert.Single(_session.Jobs).Request);
        }

        [Fact]
        public void Streams_ready_results_after_each_push_without_waiting()
        {
            using var pump = NewPump();
            pump.Push(new[] { "a@contoso.com", "b@contoso.com" });
            Assert.Equal(2, _sink.Objects.Count);
            var job = _session.Jobs[0];
            Assert.All(job.NextTimeouts, t => Assert.Equal(0u, t));
            Assert.False(job.InputClosed);

            pump.Push(new[] { "c@contoso.com" });
            Assert.Equal(3, _sink.Objects.Count);
            Assert.Equal(new[] { new[] { "a@contoso.com", "b@contoso.com" }, new[] { "c@contoso.com" } }, job.Pushes.Select(p => p.ToArray()).ToArray());

            pump.Finish();
            Assert.True(job.InputClosed);
            Assert.Contains(JobPump.PollMilliseconds, job.NextTimeouts);
        }

        [Fact]
        public void Finish_drains_events_that_arrive_after_the_input_closes()
        {
            _session.Configure = job =>
            {
                job.OnPush = _ => Array.Empty<string>();
                job.OnCloseInput = () => new[] { FakeEngineJob.UserStateJson("late@contoso.com", "enforced") };
            };
            using var pump = NewPump();
            pump.Push(new[] { "late@contoso.com" });
            Assert.Empty(_sink.Objects);

            pump.Finish();
            var user = (PSObject)Assert.Single(_sink.Objects);
            Assert.Equal("Enforced", user.Properties["PerUserMfaState"].Value);
        }

        [Fact]
        public void Finish_without_any_input_starts_nothing()
        {
            using var pump = NewPump();
            pump.Finish();
            Assert.Empty(_session.Jobs);
            Assert.Empty(_sink.Log);
        }

        [Fact]
        public void Run_starts_closes_input_and_drains_to_done()
        {
            _session.Configure = job => job.OnCloseInput = () => new[] { FakeEngineJob.UserStateJson("x"), FakeEngineJob.UserStateJson("y") };
            using var pump = NewPump();
            pump.Run();
            var job = Assert.Single(_session.Jobs);
            Assert.Empty(job.Pushes);
            Assert.True(job.InputClosed);
            Assert.Equal(2, _sink.Objects.Count);

            pump.Finish(); // already done: nothing more
            Assert.Equal(2, _sink.Objects.Count);
        }

        [Fact]
        public void Maps_every_event_type_and_ignores_unknown_ones()
        {
            _session.Configure = job =>
            {
                job.OnPush = _ => Array.Empty<string>();
                job.OnCloseInput = () => new[]
                {
                    "{\"type\":\"verbose\",\"message\":\"Reading 3 users\"}",
                    "{\"type\":\"progress\",\"activity\":\"Reading per-user MFA states\",\"completed\":1,\"total\":3,\"status\":\"1 of 3\"}",
                    FakeEngineJob.UserStateJson("a"),
                    "{\"type\":\"futureEvent\",\"data\":[1,2,3]}",
                    FakeEngineJob.ErrorJson("error", "nobody@contoso.com", "UserNotFound", "ObjectNotFound", "User 'nobody@contoso.com' does not exist."),
                    "{\"type\":\"warning\",\"message\":\"Graph is throttling\"}",
                    FakeEngineJob.UserStateJson("b", "unknownFutureValue"),
                };
            };
            using var pump = NewPump();
            pump.Push(new[] { "a", "nobody@contoso.com", "b" });
            pump.Finish();

            Assert.Equal(
                new[] { "verbose", "progress:Processing", "object", "error", "warning", "object", "progress:Completed" },
                _sink.Log);
            Assert.Equal("Reading 3 users", Assert.Single(_sink.Verbose));
            Assert.Equal("Graph is throttling", Assert.Single(_sink.Warnings));
            var error = Assert.Single(_sink.Errors);
            Assert.Equal("PerUserMfa.UserNotFound", error.FullyQualifiedErrorId);
            Assert.Equal("nobody@contoso.com", error.TargetObject);
            Assert.Equal("unknownFutureValue", ((PSObject)_sink.Objects[1]).Properties["PerUserMfaState"].Value);
            Assert.Equal(33, _sink.Progress[0].PercentComplete);
            Assert.Equal("Reading per-user MFA states", _sink.Progress[1].Activity);
        }

        [Fact]
        public void No_completed_progress_record_when_no_progress_was_shown()
        {
            using var pump = NewPump();
            pump.Push(new[] { "a" });
            pump.Finish();
            Assert.DoesNotContain(_sink.Log, l => l.StartsWith("progress", StringComparison.Ordinal));
        }

        [Fact]
        public void Change_results_go_to_the_handler_and_are_never_written_by_the_pump_itself()
        {
            // The bulk change cmdlets collect results (tally, -PassThru with the journal path); an
            // unhandled changeResult is not output a second time.
            _session.Configure = job => job.OnPush = ids => ids.Select(id => FakeEngineJob.ChangeResultJson(id, "disabled", "enabled", "enabled", true));
            using var pump = NewPump();
            var handled = new List<string>();
            pump.Handler = e =>
            {
                handled.Add(e.Type);
                return false;
            };
            pump.Push(new[] { "a@contoso.com" });
            pump.Finish();
            Assert.Contains(EngineEvent.ChangeResult, handled);
            Assert.Empty(_sink.Objects);
        }

        [Fact]
        public void A_fatal_event_ends_the_progress_bar_and_terminates()
        {
            _session.Configure = job =>
            {
                job.OnPush = _ => new[]
                {
                    "{\"type\":\"progress\",\"activity\":\"A\",\"completed\":0,\"total\":2,\"status\":\"s\"}",
                    FakeEngineJob.ErrorJson("fatal", "", "Unauthorized", "AuthenticationError", "The token has expired. Run Connect-PerUserMfa again."),
                    FakeEngineJob.UserStateJson("never"),
                };
            };
            using var pump = NewPump();
            var e = Assert.Throws<TerminatedException>(() => pump.Push(new[] { "a", "b" }));
            Assert.Equal("PerUserMfa.Unauthorized", e.Record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, e.Record.CategoryInfo.Category);
            Assert.Null(e.Record.TargetObject);
            Assert.Equal(new[] { "progress:Processing", "progress:Completed", "terminate" }, _sink.Log);
            Assert.Empty(_sink.Objects);
        }

        [Fact]
        public void An_engine_failure_to_start_is_one_terminating_error()
        {
            _session.StartFailure = new EngineException(EngineEvent.CreateError("InvalidInput", "InvalidArgument", "-ThrottleLimit 5000 is out of range"));
            using var pump = NewPump();
            var e = Assert.Throws<TerminatedException>(() => pump.Push(new[] { "a" }));
            Assert.Equal("PerUserMfa.InvalidInput", e.Record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, e.Record.CategoryInfo.Category);
            Assert.Equal("-ThrottleLimit 5000 is out of range", e.Record.Exception.Message);
        }

        [Fact]
        public void A_missing_native_library_is_one_terminating_error()
        {
            _session.StartFailure = new PerUserMfaException("engine missing for linux-arm64", "NativeLibraryNotFound", ErrorCategory.NotInstalled);
            using var pump = NewPump();
            var e = Assert.Throws<TerminatedException>(() => pump.Run());
            Assert.Equal("PerUserMfa.NativeLibraryNotFound", e.Record.FullyQualifiedErrorId);
            Assert.NotNull(e.Record.ErrorDetails.RecommendedAction);
        }

        [Fact]
        public void A_malformed_event_is_a_protocol_error_not_a_crash()
        {
            _session.Configure = job => job.OnPush = _ => new[] { "{\"type\":\"userState\",\"id\":" };
            using var pump = NewPump();
            var e = Assert.Throws<TerminatedException>(() => pump.Push(new[] { "a" }));
            Assert.Equal("PerUserMfa.EngineProtocolError", e.Record.FullyQualifiedErrorId);
        }

        [Fact]
        public void Stop_from_another_thread_cancels_the_job_and_returns_within_a_poll()
        {
            _session.Configure = job => job.NeverFinishes = true;
            using var pump = NewPump();
            pump.Push(new[] { "a" });
            var job = _session.Jobs[0];

            var started = new ManualResetEventSlim();
            var stopwatch = new Stopwatch();
            var draining = Task.Run(() =>
            {
                started.Set();
                pump.Finish();
            });
            started.Wait();
            Thread.Sleep(300);
            stopwatch.Start();
            pump.Stop();

            var e = Assert.Throws<AggregateException>(() => { draining.Wait(TimeSpan.FromSeconds(5)); });
            stopwatch.Stop();
            Assert.IsType<PipelineStoppedException>(e.InnerException);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"stopping took {stopwatch.Elapsed}");
            Assert.Equal(1, job.CancelCount);
        }

        [Fact]
        public void Stop_before_the_job_starts_prevents_it()
        {
            using var pump = NewPump();
            pump.Stop();
            Assert.Throws<PipelineStoppedException>(() => pump.Push(new[] { "a" }));
            Assert.Empty(_session.Jobs);
        }

        [Fact]
        public void Dispose_frees_the_job_and_a_late_stop_is_harmless()
        {
            var pump = NewPump();
            pump.Push(new[] { "a" });
            var job = _session.Jobs[0];
            pump.Dispose();
            Assert.True(job.Disposed);
            pump.Stop();
            pump.Dispose();
        }
    }
}
