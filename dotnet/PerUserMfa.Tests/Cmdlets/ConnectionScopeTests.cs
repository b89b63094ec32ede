using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using PerUserMfa.Connection;
using PerUserMfa.Tests.Fakes;
using Xunit;

namespace PerUserMfa.Tests.Cmdlets
{
    /// <summary>Connections belong to a runspace; Connect-PerUserMfa stops at once on Ctrl+C.</summary>
    [Collection(ConnectionStateCollection.Name)]
    public sealed class ConnectionScopeTests
    {
        [Fact]
        public void Each_runspace_keeps_its_own_connection()
        {
            // Each CmdletRunspace puts back the opener it found, so the fake goes in after them.
            using var first = new CmdletRunspace();
            using var second = new CmdletRunspace();
            Connector.OpenSession = (endpoint, _, _) => new FakeEngineSession(endpoint);
            first.SetSecret("token", "a");
            second.SetSecret("token", "b");

            first.Run("Connect-PerUserMfa -AccessToken $token -GraphEndpoint http://127.0.0.1:5001");
            Assert.Null(second.Connection.Session);
            second.Run("Connect-PerUserMfa -AccessToken $token -GraphEndpoint http://127.0.0.1:5002");

            Assert.Equal("http://127.0.0.1:5001", first.Connection.Session!.GraphEndpoint);
            Assert.Equal("http://127.0.0.1:5002", second.Connection.Session!.GraphEndpoint);

            var firstSession = (FakeEngineSession)first.Connection.Session!;
            second.Run("Disconnect-PerUserMfa");
            Assert.Null(second.Connection.Session);
            Assert.Same(firstSession, first.Connection.Session);
            Assert.False(firstSession.Disposed);
        }

        [Fact]
        public void Closing_a_runspace_closes_its_session()
        {
            FakeEngineSession? opened = null;
            var runspace = new CmdletRunspace();
            Connector.OpenSession = (endpoint, _, _) => opened = new FakeEngineSession(endpoint);
            runspace.SetSecret("token", "a");
            runspace.Run("Connect-PerUserMfa -AccessToken $token");
            Assert.False(opened!.Disposed);

            runspace.Runspace.Close();

            Assert.True(opened.Disposed);
            runspace.Dispose();
        }

        [Fact]
        public void Ctrl_C_stops_a_connect_whose_sign_in_hangs_and_the_late_session_is_closed()
        {
            using var release = new ManualResetEventSlim(false);
            using var entered = new ManualResetEventSlim(false);
            FakeEngineSession? late = null;
            using var runspace = new CmdletRunspace();
            Connector.OpenSession = (endpoint, _, _) =>
            {
                entered.Set();
                release.Wait(TimeSpan.FromSeconds(30));
                return late = new FakeEngineSession(endpoint);
            };
            runspace.SetSecret("token", "a");
            using var ps = PowerShell.Create();
            ps.Runspace = runspace.Runspace;
            ps.AddScript("Connect-PerUserMfa -AccessToken $token");
            var running = ps.BeginInvoke();
            Assert.True(entered.Wait(TimeSpan.FromSeconds(10)), "the sign-in started");

            var clock = Stopwatch.StartNew();
            ps.Stop();
            clock.Stop();

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Stop took {clock.Elapsed}");
            Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
            Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(running));
            Assert.Null(runspace.Connection.Session);

            release.Set();
            SpinWait.SpinUntil(() => late != null && late.Disposed, TimeSpan.FromSeconds(10));
            Assert.True(late!.Disposed, "a sign-in that finishes after Ctrl+C is closed");
            Assert.Null(runspace.Connection.Session);
        }
    }
}
