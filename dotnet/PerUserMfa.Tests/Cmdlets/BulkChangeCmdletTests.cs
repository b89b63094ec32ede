using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Cmdlets;
using PerUserMfa.Json;
using PerUserMfa.Tests.Fakes;
using Xunit;

namespace PerUserMfa.Tests.Cmdlets
{
    /// <summary>Set-PerUserMfaState and Undo-PerUserMfaChange in a runspace whose host records and
    /// answers confirmation prompts, on a scripted engine.</summary>
    [Collection(ConnectionStateCollection.Name)]
    public sealed class BulkChangeCmdletTests : IDisposable
    {
        private readonly PromptingHost _host = new PromptingHost();
        private readonly CmdletRunspace _runspace;
        private readonly BulkEngine _engine = new BulkEngine();
        private readonly FakeEngineSession _session;

        public BulkChangeCmdletTests()
        {
            _runspace = new CmdletRunspace(_host);
            _runspace.SetVariable("journals", _engine.Folder);
            _engine.Current["b@contoso.com"] = "enabled";
            _engine.Current["c@contoso.com"] = "enforced";
            _session = new FakeEngineSession { Configure = BulkEngine.Configure(_engine) };
            _runspace.Connection.ReplaceSession(_session);
        }

        public void Dispose()
        {
            _runspace.Dispose();
            Directory.Delete(_engine.Folder, recursive: true);
        }

        /// <summary>Runs a script; the information messages as text too, since the bulk commands write their
        /// summary and journal path there.</summary>
        private (Collection<PSObject> Output, List<ErrorRecord> Errors, List<string> Information) Run(string script)
        {
            var output = _runspace.Run(script, out var errors, out var information);
            return (output, errors, information.Select(i => i.MessageData.ToString()!).ToList());
        }

        private const string ThreeUsers = "'a@contoso.com', 'b@contoso.com', 'c@contoso.com', 'd@contoso.com'";

        private List<FakeEngineJob> JobsOf(string operation) =>
            _session.Jobs.Where(j => (string?)JsonReader.ParseObject(j.Request)["operation"] == operation).ToList();

        [Fact]
        public void By_default_it_asks_once_for_the_whole_run_showing_what_changes_from_which_state()
        {
            _host.Answer = 0;
            var (output, errors, information) = Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced -PassThru -JournalPath $journals");

            var prompt = Assert.Single(_host.Prompts);
            Assert.Contains("Set per-user MFA state", prompt.Message);
            Assert.Contains("3 accounts: 2 Disabled -> Enforced, 1 Enabled -> Enforced (about a second); 1 account already in the requested state", prompt.Message);
            Assert.Empty(errors);
            var (request, changes) = Assert.Single(_engine.Applied);
            Assert.Equal(new[] { "change", "change", "change", "alreadyInState" }, changes.Select(c => (string)c["action"]!).OrderBy(a => a == "alreadyInState").ToArray());
            Assert.Equal(4, output.Count);
            var journal = (string)JsonReader.ParseObject(request)["journalPath"]!;
            Assert.StartsWith(_engine.Folder, journal);
            Assert.Matches(@"\d{8}T\d{6}Z-set-Enforced-[0-9a-f]{6}\.jsonl$", journal);
            Assert.All(output, o => Assert.Equal(journal, o.Properties["JournalPath"].Value));
            Assert.Equal(
                new[] { "UserPrincipalName", "DisplayName", "Id", "PreviousState", "RequestedState", "State", "Changed", "JournalPath" },
                output[0].Properties.Select(p => p.Name).ToArray());
            Assert.Contains("Journal: " + journal, information);
            var summary = information.Last();
            Assert.StartsWith("Set per-user MFA state: 4 accounts in ", summary);
            Assert.Contains("Changed:                3  (2 Disabled -> Enforced, 1 Enabled -> Enforced)", summary);
            Assert.Contains("Already in state:       1  (Enforced 1)", summary);
            Assert.Contains("Failed:                 0", summary);
            Assert.EndsWith("Journal: " + journal, summary);
        }

        [Fact]
        public void The_prompt_estimates_from_the_engines_learnt_budget_and_the_summary_times_only_the_run()
        {
            _host.Answer = 0;
            _host.AnswerDelay = TimeSpan.FromSeconds(2);
            _engine.EstimateDuration = "about 2 min 30 s";
            var (_, errors, information) = Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced -JournalPath $journals");

            Assert.Empty(errors);
            var prompt = Assert.Single(_host.Prompts);
            Assert.Contains("3 accounts: 2 Disabled -> Enforced, 1 Enabled -> Enforced (about 2 min 30 s)", prompt.Message);
            Assert.Equal(new long[] { 3 }, _engine.Estimated);
            var summary = information.Last();
            var seconds = double.Parse(
                System.Text.RegularExpressions.Regex.Match(summary, @"4 accounts in ([0-9.]+) s").Groups[1].Value,
                System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(seconds < 2, $"the 2 s the prompt waited are not the run's: {summary}");
        }

        [Fact]
        public void Saying_no_changes_nobody_and_writes_no_journal()
        {
            _host.Answer = 2;
            var (output, _, information) = Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced -PassThru -JournalPath $journals");
            Assert.Single(_host.Prompts);
            Assert.Empty(_engine.Applied);
            Assert.Single(JobsOf("planChanges"));
            Assert.Single(output);
            Assert.Contains("Not confirmed:          3  (left as they were)", information.Last());
            Assert.EndsWith("No journal was written: nothing was changed.", information.Last());
            Assert.Empty(Directory.GetFiles(_engine.Folder));
        }

        [Theory]
        [InlineData("-Force")]
        [InlineData("-Confirm:$false")]
        [InlineData("-Force -Confirm:$false")]
        public void Force_or_Confirm_false_apply_without_asking(string switches)
        {
            Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced {switches} -JournalPath $journals");
            Assert.Empty(_host.Prompts);
            Assert.Single(_engine.Applied);
        }

        [Fact]
        public void A_ConfirmPreference_of_None_applies_without_asking()
        {
            Run($"$ConfirmPreference = 'None'; Set-PerUserMfaState {ThreeUsers} -State Enforced -JournalPath $journals");
            Assert.Empty(_host.Prompts);
            Assert.Single(_engine.Applied);
        }

        [Fact]
        public void An_explicit_Confirm_asks_per_user_and_applies_only_the_approved()
        {
            _host.Answer = 0;
            Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced -Confirm -Force -JournalPath $journals");
            Assert.Equal(3, _host.Prompts.Count);
            Assert.Contains(_host.Prompts, p => p.Message.Contains("\"b@contoso.com\"") && p.Message.Contains("Enabled -> Enforced"));
            var (_, changes) = Assert.Single(_engine.Applied);
            Assert.Equal(4, changes.Count);

            _host.Answer = 2;
            _host.Prompts.Clear();
            var (_, _, information) = Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced -Confirm -JournalPath $journals");
            Assert.Equal(3, _host.Prompts.Count);
            Assert.Contains("Not confirmed:          3", information.Last());
        }

        [Fact]
        public void WhatIf_lists_each_planned_change_and_sends_nothing()
        {
            var (output, _, information) = Run($"Set-PerUserMfaState {ThreeUsers} -State Enforced -WhatIf -JournalPath $journals");
            Assert.Empty(output);
            Assert.Empty(_engine.Applied);
            Assert.Empty(_host.Prompts);
            var whatIf = _host.Written.Where(w => w.StartsWith("What if: Performing the operation", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, whatIf.Count);
            Assert.Contains(whatIf, w => w.Contains("\"a@contoso.com\"") && w.Contains("Disabled -> Enforced"));
            Assert.StartsWith("What if: 3 accounts: 2 Disabled -> Enforced, 1 Enabled -> Enforced", Assert.Single(information));
            Assert.Empty(Directory.GetFiles(_engine.Folder));
        }

        [Fact]
        public void Users_already_in_the_state_need_no_journal_unless_one_is_named()
        {
            var (output, _, information) = Run("Set-PerUserMfaState 'c@contoso.com' -State Enforced -PassThru");
            Assert.Empty(_host.Prompts);
            Assert.Empty(_engine.Applied);
            var result = Assert.Single(output);
            Assert.Equal(false, result.Properties["Changed"].Value);
            Assert.Equal("Enforced", result.Properties["State"].Value);
            Assert.Null(result.Properties["JournalPath"].Value);
            Assert.Contains("Already in state:       1", information.Last());

            Run("Set-PerUserMfaState 'c@contoso.com' -State Enforced -JournalPath (Join-Path $journals 'named.jsonl')");
            var (request, changes) = Assert.Single(_engine.Applied);
            Assert.Equal(Path.Combine(_engine.Folder, "named.jsonl"), (string)JsonReader.ParseObject(request)["journalPath"]!);
            Assert.Equal("alreadyInState", (string)Assert.Single(changes)["action"]!);
        }

        [Fact]
        public void A_relative_JournalPath_is_relative_to_the_current_location()
        {
            Run("Set-Location $journals; Set-PerUserMfaState 'a@contoso.com' -State Enforced -Force -JournalPath 'relative.jsonl'");
            Assert.Equal(Path.Combine(_engine.Folder, "relative.jsonl"), (string)JsonReader.ParseObject(_engine.Applied[0].Request)["journalPath"]!);
        }

        [Fact]
        public void Plan_errors_are_error_records_and_count_as_failed()
        {
            var (output, errors, information) = Run("Set-PerUserMfaState 'nobody@contoso.com', 'a@contoso.com' -State Enforced -Force -PassThru -JournalPath $journals");
            var error = Assert.Single(errors);
            Assert.Equal("nobody@contoso.com", error.TargetObject);
            Assert.Single(output);
            Assert.Contains("Failed:                 1  (each is an error record naming the user and the cause)", information.Last());
        }

        [Fact]
        public void ResumeJournal_plans_the_unfinished_users_and_appends_to_the_same_journal()
        {
            _engine.Current["p@contoso.com"] = "enforced";
            _engine.JournalEntries.Add(BulkEngine.Entry("done", "changed", "disabled", "enforced", "enforced", true, false, true));
            _engine.JournalEntries.Add(BulkEngine.Entry("p", "pending", "disabled", "enforced", null, true, true, true));
            _engine.JournalEntries.Add(BulkEngine.Entry("q", "pending", "disabled", "enforced", null, false, true, false));
            var path = Path.Combine(_engine.Folder, "run.jsonl");
            _runspace.SetVariable("path", path);
            var (output, errors, information) = Run("Set-PerUserMfaState -ResumeJournal $path -Force -PassThru");
            Assert.Empty(errors);
            Assert.Equal("{\"operation\":\"readJournal\",\"path\":" + JsonWriter.Serialize(path) + "}", _session.Jobs[0].Request);
            var plan = Assert.Single(JobsOf("planChanges"));
            Assert.Equal("{\"operation\":\"planChanges\",\"journalUsers\":2}", plan.Request);
            var planned = ((IEnumerable<object?>)JsonReader.ParseObject(Assert.Single(plan.PushedInputs))["changes"]!).Cast<JsonObject>().ToList();
            Assert.Equal(new[] { "p", "q" }, planned.Select(c => (string)c["id"]!).ToArray());
            Assert.Equal(new[] { true, false }, planned.Select(c => (bool)c["sent"]!).ToArray());
            var (request, changes) = Assert.Single(_engine.Applied);
            var apply = JsonReader.ParseObject(request);
            Assert.Equal(path, apply["journalPath"]);
            Assert.Equal("resume", apply["journalOperation"]);
            Assert.Equal(new[] { "completed", "change" }, changes.Select(c => (string)c["action"]!).ToArray());
            Assert.Equal(2, output.Count);
            Assert.Contains(information, i => i.StartsWith("Resuming the set run of '" + path + "': 2 accounts without an outcome", StringComparison.Ordinal));
        }

        [Fact]
        public void RequireCoverage_asks_with_the_split_by_verdict_and_reports_each_user_left_alone()
        {
            foreach (var (user, verdict) in new[] { ("p@contoso.com", "PartiallyCovered"), ("n@contoso.com", "NotCovered"), ("u@contoso.com", "Unknown"), ("k@contoso.com", "Covered") })
            {
                _engine.Current[user] = "enforced";
                _engine.Verdicts[user] = verdict;
            }

            _host.Answer = 0;
            var (output, errors, information) = Run("Set-PerUserMfaState 'k@contoso.com', 'p@contoso.com', 'n@contoso.com', 'u@contoso.com', 'a@contoso.com' -State Disabled -RequireCoverage -PassThru -JournalPath $journals");

            var prompt = Assert.Single(_host.Prompts);
            Assert.Contains("1 Covered will be Disabled; 1 PartiallyCovered, 1 NotCovered, 1 Unknown skipped; 1 account already in the requested state", prompt.Message);
            Assert.Equal("{\"operation\":\"planChanges\",\"state\":\"disabled\",\"requireCoverage\":true}", Assert.Single(JobsOf("planChanges")).Request);
            Assert.Equal(3, errors.Count);
            Assert.All(errors, e => Assert.StartsWith("PerUserMfa.NotCovered", e.FullyQualifiedErrorId, StringComparison.Ordinal));
            Assert.All(errors, e => Assert.Equal(ErrorCategory.SecurityError, e.CategoryInfo.Category));
            var partial = Assert.Single(errors, e => (string)e.TargetObject == "p@contoso.com");
            Assert.Equal("'p@contoso.com' is PartiallyCovered, so -RequireCoverage leaves per-user MFA as it is: Reason for PartiallyCovered. Test-PerUserMfaMigration -UserId 'p@contoso.com' shows the gaps.", partial.Exception.Message);
            var (request, changes) = Assert.Single(_engine.Applied);
            Assert.Equal(true, JsonReader.ParseObject(request)["requireCoverage"]);
            var sent = changes.ToDictionary(c => (string)c["target"]!, c => c);
            Assert.Equal("change", sent["k@contoso.com"]["action"]);
            Assert.Equal("Covered", sent["k@contoso.com"]["verdict"]);
            Assert.Equal("notCovered", sent["n@contoso.com"]["action"]);
            Assert.Equal("Reason for NotCovered.", sent["n@contoso.com"]["verdictReason"]);
            Assert.Equal(5, changes.Count);
            Assert.Contains("Not covered:            3  (per-user MFA left as it was", information.Last());
        }

        [Fact]
        public void RequireCoverage_WhatIf_shows_the_split_and_sends_nothing()
        {
            _engine.Current["p@contoso.com"] = "enforced";
            _engine.Current["k@contoso.com"] = "enabled";
            _engine.Verdicts["p@contoso.com"] = "PartiallyCovered";
            var (_, errors, information) = Run("Set-PerUserMfaState 'k@contoso.com', 'p@contoso.com' -State Disabled -RequireCoverage -WhatIf");
            Assert.Contains("What if: 1 Covered will be Disabled; 1 PartiallyCovered, 0 NotCovered, 0 Unknown skipped. Nothing was changed.", information);
            Assert.Single(errors);
            Assert.Empty(_engine.Applied);
        }

        [Theory]
        [InlineData("Enabled")]
        [InlineData("Enforced")]
        public void RequireCoverage_with_another_state_is_a_parameter_error_before_any_request(string state)
        {
            var (_, errors, _) = Run($"Set-PerUserMfaState 'a@contoso.com' -State {state} -RequireCoverage -Force");
            var error = Assert.Single(errors);
            Assert.StartsWith("PerUserMfa.RequireCoverageNeedsDisabled", error.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("-RequireCoverage goes with -State Disabled only", error.Exception.Message);
            Assert.Contains($"(-State {state} was given.)", error.Exception.Message);
            Assert.Empty(_session.Jobs);
        }

        [Fact]
        public void Resuming_a_run_that_required_coverage_keeps_the_rule()
        {
            _engine.JournalRequiresCoverage = true;
            _engine.Current["p@contoso.com"] = "enforced";
            _engine.Current["q@contoso.com"] = "enforced";
            _engine.Verdicts["q@contoso.com"] = "NotCovered";
            _engine.JournalEntries.Add(BulkEngine.Entry("p", "pending", "enforced", "disabled", null, false, true, false));
            _engine.JournalEntries.Add(BulkEngine.Entry("q", "pending", "enforced", "disabled", null, false, true, false));
            _engine.JournalEntries.Add(BulkEngine.Entry("n", "notCovered", "enforced", "disabled", "enforced", false, false, false));
            _runspace.SetVariable("path", Path.Combine(_engine.Folder, "run.jsonl"));
            var (_, errors, information) = Run("Set-PerUserMfaState -ResumeJournal $path -Force");
            Assert.Equal("{\"operation\":\"planChanges\",\"requireCoverage\":true,\"journalUsers\":2}", Assert.Single(JobsOf("planChanges")).Request);
            Assert.Equal("PerUserMfa.NotCovered", Assert.Single(errors).FullyQualifiedErrorId.Split(',')[0]);
            var (request, changes) = Assert.Single(_engine.Applied);
            Assert.Equal(true, JsonReader.ParseObject(request)["requireCoverage"]);
            Assert.Equal(new[] { "change", "notCovered" }, changes.Select(c => (string)c["action"]!).ToArray());
            Assert.Contains(information, i => i.Contains("and only to accounts still Covered (the run was started with -RequireCoverage)"));
        }

        [Fact]
        public void An_undo_says_why_a_RequireCoverage_run_changed_each_user()
        {
            _engine.Current["k@contoso.com"] = "disabled";
            _engine.JournalEntries.Add(BulkEngine.Entry("k", "changed", "enforced", "disabled", "disabled", true, false, true).TrimEnd('}') +
                ",\"verdict\":\"Covered\",\"verdictReason\":\"'Require MFA for all users' requires MFA at every sign-in of this account.\"}");
            _engine.JournalEntries.Add(BulkEngine.Entry("n", "notCovered", "enforced", "disabled", "enforced", false, false, false).TrimEnd('}') +
                ",\"verdict\":\"NotCovered\",\"verdictReason\":\"Excluded.\"}");
            var (output, _, _) = Run("Undo-PerUserMfaChange -JournalPath (Join-Path $journals 'x.jsonl') -WhatIf -Verbose 4>&1");
            var verbose = output.Select(o => o.BaseObject).OfType<VerboseRecord>().Select(v => v.Message).ToList();
            Assert.Contains("k@contoso.com was changed by a -RequireCoverage run: its verdict was Covered. 'Require MFA for all users' requires MFA at every sign-in of this account.", verbose);
            Assert.DoesNotContain(verbose, v => v.Contains("n@contoso.com"));
            var plan = Assert.Single(JobsOf("planChanges"));
            Assert.Equal(new[] { "k" }, ((IEnumerable<object?>)JsonReader.ParseObject(Assert.Single(plan.PushedInputs))["changes"]!).Cast<JsonObject>().Select(c => (string)c["id"]!).ToArray());
        }

        [Fact]
        public void Resuming_a_finished_journal_does_nothing()
        {
            _engine.JournalEntries.Add(BulkEngine.Entry("done", "changed", "disabled", "enforced", "enforced", true, false, true));
            var (_, _, information) = Run("Set-PerUserMfaState -ResumeJournal (Join-Path $journals 'x.jsonl') -Force");
            Assert.Empty(JobsOf("planChanges"));
            Assert.StartsWith("Nothing to resume", Assert.Single(information));
        }

        [Fact]
        public void Undo_puts_changed_users_back_and_journals_the_undo()
        {
            _engine.Current["u1@contoso.com"] = "enforced";
            _engine.Current["u2@contoso.com"] = "enforced";
            _engine.JournalEntries.Add(BulkEngine.Entry("u1", "changed", "disabled", "enforced", "enforced", true, false, true));
            _engine.JournalEntries.Add(BulkEngine.Entry("u2", "changed", "enabled", "enforced", "enforced", true, false, true));
            _engine.JournalEntries.Add(BulkEngine.Entry("u3", "alreadyInState", "enforced", "enforced", "enforced", false, false, false));
            var original = Path.Combine(_engine.Folder, "set.jsonl");
            _runspace.SetVariable("original", original);
            _host.Answer = 0;
            var (output, errors, _) = Run("Undo-PerUserMfaChange -JournalPath $original -UndoJournalPath $journals -PassThru");
            Assert.Empty(errors);
            var prompt = Assert.Single(_host.Prompts);
            Assert.Contains("Undo per-user MFA change", prompt.Message);
            Assert.Contains("2 accounts: 1 Enforced -> Disabled, 1 Enforced -> Enabled", prompt.Message);
            var plan = Assert.Single(JobsOf("planChanges"));
            var planned = ((IEnumerable<object?>)JsonReader.ParseObject(Assert.Single(plan.PushedInputs))["changes"]!).Cast<JsonObject>().ToList();
            Assert.Equal(new[] { "disabled", "enabled" }, planned.Select(c => (string)c["requestedState"]!).ToArray());
            var (request, _) = Assert.Single(_engine.Applied);
            var apply = JsonReader.ParseObject(request);
            Assert.Equal("undo", apply["journalOperation"]);
            Assert.Equal(original, apply["undoOf"]);
            Assert.Matches(@"-undo-[0-9a-f]{6}\.jsonl$", (string)apply["journalPath"]!);
            Assert.Equal(new[] { "Disabled", "Enabled" }, output.Select(o => (string)o.Properties["State"].Value).ToArray());
        }

        [Fact]
        public void Undo_with_nothing_changed_says_so_and_sends_nothing()
        {
            _engine.JournalEntries.Add(BulkEngine.Entry("u3", "alreadyInState", "enforced", "enforced", "enforced", false, false, false));
            var (_, _, information) = Run("Undo-PerUserMfaChange (Join-Path $journals 'x.jsonl') -Force");
            Assert.Empty(JobsOf("planChanges"));
            Assert.StartsWith("Nothing to undo", Assert.Single(information));
        }

        [Fact]
        public void Undo_is_a_high_impact_command_with_the_same_switches()
        {
            var command = (CmdletInfo)Run("Get-Command Undo-PerUserMfaChange").Output[0].BaseObject;
            foreach (var name in new[] { "JournalPath", "UndoJournalPath", "Force", "PassThru", "ThrottleLimit", "WhatIf", "Confirm" })
            {
                Assert.True(command.Parameters.ContainsKey(name), name);
            }

            Assert.True(command.Parameters["JournalPath"].Attributes.OfType<ParameterAttribute>().Single().Mandatory);
            var attribute = (CmdletAttribute)Attribute.GetCustomAttribute(typeof(UndoPerUserMfaChangeCommand), typeof(CmdletAttribute))!;
            Assert.Equal(ConfirmImpact.High, attribute.ConfirmImpact);
            Assert.Equal("Undo", attribute.VerbName);
        }

        [Fact]
        public void Set_has_a_UserId_set_and_a_Resume_set()
        {
            var command = (CmdletInfo)Run("Get-Command Set-PerUserMfaState").Output[0].BaseObject;
            Assert.Equal(new[] { "Resume", "UserId" }, command.ParameterSets.Select(s => s.Name).OrderBy(n => n).ToArray());
            Assert.Equal("UserId", command.DefaultParameterSet);
            var (_, errors, _) = Run("Set-PerUserMfaState -ResumeJournal x.jsonl -State Enabled -Force");
            Assert.Contains(errors, e => e.FullyQualifiedErrorId.StartsWith("AmbiguousParameterSet", StringComparison.Ordinal));
        }
    }
}
