using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Security;
using PerUserMfa.Cmdlets;
using PerUserMfa.Connection;
using PerUserMfa.Engine;
using PerUserMfa.Json;
using PerUserMfa.Tests.Fakes;
using Xunit;

namespace PerUserMfa.Tests.Cmdlets
{
    /// <summary>The real cmdlets in a real runspace, on a fake engine session.</summary>
    [Collection(ConnectionStateCollection.Name)]
    public sealed class CmdletTests : IDisposable
    {
        private readonly CmdletRunspace _runspace = new CmdletRunspace();

        public void Dispose() => _runspace.Dispose();

        private FakeEngineSession Connect(Action<FakeEngineJob>? configure = null)
        {
            var session = new FakeEngineSession { Configure = configure };
            _runspace.Connection.ReplaceSession(session);
            return session;
        }

        private static string? Prop(PSObject o, string name) => o.Properties[name].Value as string;

        // ---- Not connected ------------------------------------------------------------------

        [Theory]
        [InlineData("Get-PerUserMfaState")]
        [InlineData("Get-PerUserMfaState -All")]
        [InlineData("Get-PerUserMfaState -UserId a@contoso.com")]
        [InlineData("'a@contoso.com', 'b@contoso.com', 'c@contoso.com' | Get-PerUserMfaState")]
        [InlineData("Set-PerUserMfaState -UserId a@contoso.com -State Enabled -Confirm:$false")]
        [InlineData("'a@contoso.com', 'b@contoso.com' | Set-PerUserMfaState -State Disabled -Confirm:$false")]
        public void Before_connecting_every_command_stops_with_one_NotConnected_error(string script)
        {
            var error = _runspace.RunTerminating(script);
            Assert.StartsWith("PerUserMfa.NotConnected,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
            Assert.Equal(
                "Not connected to Microsoft Graph. Sign in first, for example: Connect-MgGraph -Scopes Policy.Read.All, User.Read.All; Connect-PerUserMfa " +
                "(an app registration, a managed identity or the Azure CLI: Get-Help Connect-PerUserMfa -Examples).",
                error.Exception.Message);
        }

        [Fact]
        public void A_new_runspace_starts_without_a_connection()
        {
            Assert.Null(_runspace.Connection.Session);
            Assert.Null(ConnectionContext.Current);
            var sink = new RecordingSink();
            var e = Assert.Throws<TerminatedException>(() => PerUserMfa.Pipeline.JobPump.RequireSession(sink));
            Assert.Equal("PerUserMfa.NotConnected", e.Record.FullyQualifiedErrorId);
        }

        // ---- Get-PerUserMfaState --------------------------------------------------------------

        [Fact]
        public void Get_without_users_lists_licensed_members()
        {
            var session = Connect(job => job.OnCloseInput = () => new[] { FakeEngineJob.UserStateJson("adele.vance@contoso.com"), FakeEngineJob.UserStateJson("alex.wilber@contoso.com", "enforced") });
            var output = _runspace.Run("Get-PerUserMfaState");

            var job = Assert.Single(session.Jobs);
            Assert.Equal("{\"operation\":\"getStates\",\"scope\":\"licensedMembers\"}", job.Request);
            Assert.Empty(job.Pushes);
            Assert.True(job.InputClosed);
            Assert.True(job.Disposed);
            Assert.Equal(2, output.Count);
            Assert.All(output, o => Assert.Equal("PerUserMfa.UserState", o.TypeNames[0]));
            Assert.Equal(new[] { "UserPrincipalName", "DisplayName", "Id", "PerUserMfaState" }, output[0].Properties.Select(p => p.Name).ToArray());
            Assert.Equal("Enforced", Prop(output[1], "PerUserMfaState"));
        }

        [Fact]
        public void Get_All_with_ThrottleLimit_asks_for_every_user()
        {
            var session = Connect();
            _runspace.Run("Get-PerUserMfaState -All -ThrottleLimit 5");
            Assert.Equal("{\"operation\":\"getStates\",\"scope\":\"all\",\"throttleLimit\":5}", Assert.Single(session.Jobs).Request);
        }

        [Theory]
        [InlineData("Get-PerUserMfaState -ThrottleLimit 0")]
        [InlineData("Get-PerUserMfaState -ThrottleLimit 10001")]
        [InlineData("Set-PerUserMfaState -UserId a -State Enabled -ThrottleLimit 0 -Confirm:$false")]
        public void ThrottleLimit_is_validated(string script)
        {
            var session = Connect();
            var error = _runspace.RunTerminating(script);
            Assert.StartsWith("ParameterArgumentValidationError", error.FullyQualifiedErrorId);
            Assert.Empty(session.Jobs);
        }

        [Fact]
        public void Get_UserId_pushes_the_given_users_once()
        {
            var session = Connect();
            var output = _runspace.Run("Get-PerUserMfaState -UserId 'adele.vance@contoso.com', '00000000-0000-4000-8000-000000000002'");
            var job = Assert.Single(session.Jobs);
            Assert.Equal("{\"operation\":\"getStates\",\"scope\":\"input\"}", job.Request);
            Assert.Equal(new[] { "adele.vance@contoso.com", "00000000-0000-4000-8000-000000000002" }, Assert.Single(job.Pushes));
            Assert.Equal(2, output.Count);
        }

        [Fact]
        public void Get_takes_UserId_by_position()
        {
            var session = Connect();
            Assert.Single(_runspace.Run("Get-PerUserMfaState 'adele.vance@contoso.com'"));
            Assert.Equal(new[] { "adele.vance@contoso.com" }, Assert.Single(session.Jobs[0].Pushes));
        }

        [Fact]
        public void Get_binds_plain_strings_from_the_pipeline_by_value_and_streams_per_record()
        {
            var session = Connect();
            var output = _runspace.Run("'adele.vance@contoso.com', 'alex.wilber@contoso.com' | Get-PerUserMfaState");
            var job = Assert.Single(session.Jobs);
            Assert.Equal(new[] { new[] { "adele.vance@contoso.com" }, new[] { "alex.wilber@contoso.com" } }, job.Pushes.Select(p => p.ToArray()).ToArray());
            Assert.Equal(new[] { "adele.vance@contoso.com", "alex.wilber@contoso.com" }, output.Select(o => Prop(o, "UserPrincipalName")).ToArray());
        }

        [Theory]
        [InlineData("UserPrincipalName", "adele.vance@contoso.com")]
        [InlineData("Id", "00000000-0000-4000-8000-000000000001")]
        [InlineData("ObjectId", "00000000-0000-4000-8000-000000000001")]
        [InlineData("UserId", "miriam.o'brien@contoso.com")]
        public void Get_binds_CSV_rows_by_column(string column, string value)
        {
            var session = Connect();
            _runspace.SetVariable("csvText", column + "\n\"" + value + "\"\n\"zoë.åström@contoso.com\"\n");
            _runspace.Run("$csvText | ConvertFrom-Csv | Get-PerUserMfaState");
            Assert.Equal(new[] { value, "zoë.åström@contoso.com" }, session.Jobs[0].Pushes.Select(p => Assert.Single(p)).ToArray());
        }

        [Fact]
        public void Get_binds_GetMgUser_like_objects_by_their_Id()
        {
            var session = Connect();
            _runspace.Run(@"
                [pscustomobject]@{ Id = 'id-1'; UserPrincipalName = 'adele.vance@contoso.com'; DisplayName = 'Adele Vance' },
                [pscustomobject]@{ DisplayName = 'Alex'; UserPrincipalName = 'alex.wilber@contoso.com'; Id = 'id-2' } | Get-PerUserMfaState");
            Assert.Equal(new[] { "id-1", "id-2" }, session.Jobs[0].Pushes.Select(p => Assert.Single(p)).ToArray());
        }

        [Fact]
        public void Get_with_empty_pipeline_input_lists_nobody()
        {
            var session = Connect();
            var output = _runspace.Run("@() | Get-PerUserMfaState");
            Assert.Empty(output);
            Assert.Empty(session.Jobs);
        }

        [Fact]
        public void Get_reports_a_failed_user_as_a_non_terminating_error_and_the_others_as_objects()
        {
            var session = Connect(job => job.OnPush = ids => ids.Select(id => id == "nobody@contoso.com"
                ? FakeEngineJob.ErrorJson("error", id, "UserNotFound", "ObjectNotFound", "User 'nobody@contoso.com' does not exist (request-id: r1).")
                : FakeEngineJob.UserStateJson(id)));
            var output = _runspace.Run("Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'nobody@contoso.com', 'alex.wilber@contoso.com'", out var errors);

            Assert.Equal(2, output.Count);
            var error = Assert.Single(errors);
            Assert.StartsWith("PerUserMfa.UserNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal("nobody@contoso.com", error.TargetObject);
            Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
            Assert.Equal("User 'nobody@contoso.com' does not exist (request-id: r1).", error.Exception.Message);
            Assert.Equal("rid-1", Assert.IsType<PerUserMfaException>(error.Exception).RequestId);
        }

        [Fact]
        public void Get_stops_with_one_error_on_a_fatal_event()
        {
            Connect(job => job.OnPush = _ => new[] { FakeEngineJob.ErrorJson("fatal", "", "Unauthorized", "AuthenticationError", "The access token has expired. Run Connect-PerUserMfa again.") });
            var error = _runspace.RunTerminating("Get-PerUserMfaState -UserId a, b");
            Assert.StartsWith("PerUserMfa.Unauthorized,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            Assert.Contains("Connect-PerUserMfa", error.Exception.Message);
        }

        [Fact]
        public void Get_can_be_stopped_and_frees_its_job()
        {
            var session = Connect(job => job.NeverFinishes = true);
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace.Runspace;
            ps.AddScript("Get-PerUserMfaState -All");
            var running = ps.BeginInvoke();
            var deadline = Stopwatch.StartNew();
            while (session.Jobs.Count == 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                System.Threading.Thread.Sleep(20);
            }

            System.Threading.Thread.Sleep(300);
            var stopping = Stopwatch.StartNew();
            ps.Stop();
            stopping.Stop();
            Assert.Throws<PipelineStoppedException>(() => { ps.EndInvoke(running); });
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(1.5), $"stopping took {stopping.Elapsed}");
            var job = Assert.Single(session.Jobs);
            Assert.True(job.CancelCount >= 1);
            Assert.True(job.Disposed);
        }

        [Fact]
        public void Get_has_the_List_and_UserId_parameter_sets()
        {
            var command = _runspace.Run("Get-Command Get-PerUserMfaState")[0].BaseObject as CmdletInfo;
            Assert.NotNull(command);
            Assert.Equal("List", command!.DefaultParameterSet);
            Assert.Equal(new[] { "List", "UserId" }, command.ParameterSets.Select(s => s.Name).OrderBy(n => n).ToArray());
            var userId = command.Parameters["UserId"];
            Assert.Equal(new[] { "Id", "UserPrincipalName", "ObjectId", "UPN" }, userId.Aliases.ToArray());
            // Objects, not strings: the module reads the user from whichever column names it (UserInputReader).
            Assert.Equal(typeof(object[]), userId.ParameterType);
        }

        // ---- Set-PerUserMfaState --------------------------------------------------------------

        [Fact]
        public void Set_with_WhatIf_reads_states_but_starts_no_change_job()
        {
            var session = Connect(BulkEngine.Configure(new BulkEngine()));
            var output = _runspace.Run("Set-PerUserMfaState -UserId 'adele.vance@contoso.com', \"miriam.o'brien@contoso.com\" -State Disabled -WhatIf");
            Assert.Empty(output);
            var plan = Assert.Single(session.Jobs);
            Assert.Equal("{\"operation\":\"planChanges\",\"state\":\"disabled\"}", plan.Request);
        }

        [Fact]
        public void Set_sends_the_lower_case_state_and_writes_results_only_with_PassThru()
        {
            var engine = new BulkEngine();
            var session = Connect(BulkEngine.Configure(engine));
            _runspace.SetVariable("journals", engine.Folder);
            var silent = _runspace.Run("Set-PerUserMfaState -UserId 'a@contoso.com' -State Enforced -Confirm:$false -JournalPath $journals");
            Assert.Empty(silent);
            Assert.Equal("{\"operation\":\"planChanges\",\"state\":\"enforced\"}", session.Jobs[0].Request);
            Assert.Equal(new[] { "a@contoso.com" }, Assert.Single(session.Jobs[0].Pushes));
            Assert.StartsWith("{\"operation\":\"applyChanges\",", session.Jobs[1].Request);

            var results = _runspace.Run("Set-PerUserMfaState 'a@contoso.com', 'b@contoso.com' -State Enforced -PassThru -ThrottleLimit 3 -Confirm:$false -JournalPath $journals");
            Assert.Equal("{\"operation\":\"planChanges\",\"state\":\"enforced\",\"throttleLimit\":3}", session.Jobs[2].Request);
            // The connection (tenant, app, account) goes between the operation and the state: the journal's header records it.
            Assert.Contains(",\"journalOperation\":\"set\",", session.Jobs[3].Request);
            Assert.EndsWith(",\"requestedState\":\"enforced\",\"throttleLimit\":3}", session.Jobs[3].Request);
            Assert.Equal(2, results.Count);
            Assert.All(results, r => Assert.Equal("PerUserMfa.ChangeResult", r.TypeNames[0]));
            Assert.Equal("Disabled", Prop(results[0], "PreviousState"));
            Assert.Equal("Enforced", Prop(results[0], "State"));
            Assert.Equal(true, results[0].Properties["Changed"].Value);
            Assert.All(session.Jobs, j => Assert.True(j.Disposed));
        }

        [Fact]
        public void Set_takes_GetPerUserMfaState_output_from_the_pipeline()
        {
            var engine = new BulkEngine();
            var session = Connect(BulkEngine.Configure(engine));
            _runspace.SetVariable("journals", engine.Folder);
            var results = _runspace.Run("Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'zoe@contoso.com' | Set-PerUserMfaState -State Enforced -PassThru -Confirm:$false -JournalPath $journals");
            Assert.Equal(3, session.Jobs.Count);
            var planJob = session.Jobs.Single(j => j.Request.Contains("planChanges", StringComparison.Ordinal));
            Assert.Equal(new[] { "id-adele.vance@contoso.com", "id-zoe@contoso.com" }, planJob.Pushes.Select(p => Assert.Single(p)).ToArray());
            Assert.Equal(2, results.Count);
        }

        [Fact]
        public void Set_State_is_an_enum_with_three_completions_and_rejects_other_values()
        {
            Connect();
            var command = (CmdletInfo)_runspace.Run("Get-Command Set-PerUserMfaState")[0].BaseObject;
            Assert.Equal(typeof(PerUserMfaState), command.Parameters["State"].ParameterType);
            Assert.Equal(new[] { "Disabled", "Enabled", "Enforced" }, Enum.GetNames(typeof(PerUserMfaState)));

            var completions = _runspace.Run("$line = 'Set-PerUserMfaState -State '; (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText");
            Assert.Equal(new[] { "Disabled", "Enabled", "Enforced" }, completions.Select(c => (string)c.BaseObject).ToArray());

            var error = _runspace.RunTerminating("Set-PerUserMfaState -UserId a -State On -Confirm:$false");
            Assert.StartsWith("CannotConvertArgumentNoMessage", error.FullyQualifiedErrorId);
        }

        [Fact]
        public void Set_supports_ShouldProcess_with_high_impact()
        {
            var command = (CmdletInfo)_runspace.Run("Get-Command Set-PerUserMfaState")[0].BaseObject;
            Assert.True(command.Parameters.ContainsKey("WhatIf"));
            Assert.True(command.Parameters.ContainsKey("Confirm"));
            Assert.True(command.Parameters.ContainsKey("Force"));
            var attribute = (CmdletAttribute)Attribute.GetCustomAttribute(typeof(SetPerUserMfaStateCommand), typeof(CmdletAttribute))!;
            Assert.Equal(ConfirmImpact.High, attribute.ConfirmImpact);
        }

        // ---- Connect / Disconnect ---------------------------------------------------------------

        [Fact]
        public void Connect_opens_a_session_with_the_contract_options_and_says_where()
        {
            var opened = new List<(string Endpoint, string Options, int SecretLength)>();
            Connector.OpenSession = (endpoint, options, secret) =>
            {
                opened.Add((endpoint, options, secret?.Length ?? -1));
                return new FakeEngineSession(endpoint);
            };
            _runspace.SetSecret("token", "eyJ0.token");

            var output = _runspace.Run("Connect-PerUserMfa -AccessToken $token -GraphEndpoint 'http://127.0.0.1:5000' -Verbose 4>&1");

            var call = Assert.Single(opened);
            Assert.Equal("http://127.0.0.1:5000", call.Endpoint);
            Assert.Equal(10, call.SecretLength);
            var options = JsonReader.ParseObject(call.Options);
            Assert.Equal(new[] { "graphEndpoint", "environment", "auth", "userAgent" }, options.Keys.ToArray());
            Assert.Equal("http://127.0.0.1:5000", options["graphEndpoint"]);
            Assert.Equal("Global", options["environment"]);
            Assert.Equal("accessToken", ((JsonObject)options["auth"]!)["kind"]);
            Assert.Matches(@"^PerUserMfa/\d+\.\d+\.\d+\S* \(PowerShell 7\.\d+\.\d+\S*; (Linux|Windows|macOS)\)$", (string)options["userAgent"]!);
            Assert.Equal("Connected to http://127.0.0.1:5000", Assert.IsType<VerboseRecord>(Assert.Single(output).BaseObject).Message);
            Assert.Equal("http://127.0.0.1:5000", _runspace.Connection.Session!.GraphEndpoint);
        }

        [Fact]
        public void Connect_defaults_to_the_global_Graph_endpoint()
        {
            string? endpoint = null;
            Connector.OpenSession = (e, _, _) => new FakeEngineSession(endpoint = e);
            _runspace.SetSecret("token", "t");
            _runspace.Run("Connect-PerUserMfa -AccessToken $token");
            Assert.Equal("https://graph.microsoft.com", endpoint);
        }

        [Fact]
        public void Connecting_again_replaces_and_closes_the_old_session()
        {
            var sessions = new List<FakeEngineSession>();
            Connector.OpenSession = (e, _, _) =>
            {
                var s = new FakeEngineSession(e);
                sessions.Add(s);
                return s;
            };
            _runspace.SetSecret("token", "t");
            _runspace.Run("Connect-PerUserMfa -AccessToken $token; Connect-PerUserMfa -AccessToken $token -GraphEndpoint https://graph.microsoft.us");
            Assert.Equal(2, sessions.Count);
            Assert.True(sessions[0].Disposed);
            Assert.False(sessions[1].Disposed);
            Assert.Same(sessions[1], _runspace.Connection.Session);
        }

        [Fact]
        public void A_refused_connect_is_one_terminating_error_and_keeps_the_previous_connection()
        {
            var previous = Connect();
            Connector.OpenSession = (e, _, _) => throw new EngineException(EngineEvent.CreateError(
                "InvalidEndpoint", "InvalidArgument", $"The Graph endpoint '{e}' uses plain http. http is allowed only for a loopback address (127.0.0.1, ::1, localhost). Use https."));
            _runspace.SetSecret("token", "t");

            var error = _runspace.RunTerminating("Connect-PerUserMfa -AccessToken $token -GraphEndpoint 'http://graph.contoso.com'");

            Assert.StartsWith("PerUserMfa.InvalidEndpoint,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("loopback", error.Exception.Message);
            Assert.Same(previous, _runspace.Connection.Session);
            Assert.False(previous.Disposed);
        }

        [Fact]
        public void An_empty_token_is_refused_before_the_engine_is_asked()
        {
            var asked = false;
            Connector.OpenSession = (e, _, _) =>
            {
                asked = true;
                return new FakeEngineSession(e);
            };
            _runspace.SetSecret("token", string.Empty);
            var error = _runspace.RunTerminating("Connect-PerUserMfa -AccessToken $token");
            Assert.StartsWith("PerUserMfa.InvalidInput,", error.FullyQualifiedErrorId);
            Assert.False(asked);
        }

        [Fact]
        public void Connect_takes_the_token_only_as_a_SecureString_in_the_AccessToken_set()
        {
            var command = (CmdletInfo)_runspace.Run("Get-Command Connect-PerUserMfa")[0].BaseObject;
            Assert.Equal("GraphSession", command.DefaultParameterSet);
            Assert.Equal(typeof(SecureString), command.Parameters["AccessToken"].ParameterType);
            Assert.Equal(typeof(Uri), command.Parameters["GraphEndpoint"].ParameterType);

            var error = _runspace.RunTerminating("Connect-PerUserMfa -AccessToken 'plain text token'");
            Assert.StartsWith("CannotConvertArgumentNoMessage", error.FullyQualifiedErrorId);
        }

        [Fact]
        public void Disconnect_closes_the_session_and_is_quiet_when_not_connected()
        {
            var session = Connect();
            var output = _runspace.Run("Disconnect-PerUserMfa -Verbose 4>&1");
            Assert.True(session.Disposed);
            Assert.Null(_runspace.Connection.Session);
            Assert.Equal("Disconnected from https://graph.microsoft.com", ((VerboseRecord)Assert.Single(output).BaseObject).Message);

            Assert.Empty(_runspace.Run("Disconnect-PerUserMfa; Disconnect-PerUserMfa -Verbose 4>&1"));
        }
    }
}
