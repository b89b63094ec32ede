using System;
using System.IO;
using System.Linq;
using PerUserMfa.Bulk;
using Xunit;

namespace PerUserMfa.Tests.Bulk
{
    public class BulkTextTests
    {
        private static ChangeItem Planned(string current, string requested, string action) =>
            new ChangeItem { Target = "u", Id = "1", CurrentState = current, PreviousState = current, RequestedState = requested, Action = action };

        [Fact]
        public void The_plan_summary_counts_transitions_most_frequent_first()
        {
            var plan = Enumerable.Repeat(Planned("disabled", "enforced", "change"), 30)
                .Concat(Enumerable.Repeat(Planned("enabled", "enforced", "change"), 12))
                .Concat(Enumerable.Repeat(Planned("enforced", "enforced", "alreadyInState"), 5))
                .ToList();
            Assert.Equal(
                "42 accounts: 30 Disabled -> Enforced, 12 Enabled -> Enforced (about a second); 5 accounts already in the requested state",
                BulkText.PlanSummary(plan, "about a second"));
            Assert.Equal("1 account: 1 Disabled -> Enabled (about 2 min 30 s)", BulkText.PlanSummary(new[] { Planned("disabled", "enabled", "change") }, "about 2 min 30 s"));
            Assert.Equal("0 accounts; 1 account already in the requested state", BulkText.PlanSummary(new[] { Planned("enabled", "enabled", "alreadyInState") }, null));
        }

        private static ChangeItem Judged(string action, string verdict) =>
            new ChangeItem { Target = "u", Id = "1", CurrentState = "enforced", RequestedState = "disabled", Action = action, Verdict = verdict, VerdictReason = "Why." };

        [Fact]
        public void A_run_that_requires_coverage_shows_the_split_by_verdict()
        {
            var plan = Enumerable.Repeat(Judged("change", "Covered"), 250)
                .Concat(Enumerable.Repeat(Judged("notCovered", "PartiallyCovered"), 40))
                .Concat(Enumerable.Repeat(Judged("notCovered", "NotCovered"), 12))
                .Concat(Enumerable.Repeat(Judged("notCovered", "Unknown"), 10))
                .ToList();
            Assert.Equal("250 Covered will be Disabled; 40 PartiallyCovered, 12 NotCovered, 10 Unknown skipped", BulkText.CoverageSplit(plan));
            Assert.Equal(
                "1 Covered will be Disabled; 0 PartiallyCovered, 1 NotCovered, 0 Unknown skipped; 1 account already in the requested state",
                BulkText.CoverageSplit(new[] { Judged("change", "Covered"), Judged("notCovered", "NotCovered"), Planned("disabled", "disabled", "alreadyInState") }));
        }

        [Fact]
        public void A_user_left_alone_for_coverage_is_told_the_verdict_its_reason_and_where_to_look()
        {
            var user = new ChangeItem { Target = "o'brien@contoso.com", Id = "1", Verdict = "PartiallyCovered", VerdictReason = "Only 'MFA for Office' requires MFA." };
            Assert.Equal(
                "'o'brien@contoso.com' is PartiallyCovered, so -RequireCoverage leaves per-user MFA as it is: Only 'MFA for Office' requires MFA. " +
                "Test-PerUserMfaMigration -UserId 'o''brien@contoso.com' shows the gaps.",
                BulkText.NotCoveredMessage(user));
        }

        [Fact]
        public void A_resumed_users_landed_change_is_counted_apart()
        {
            var completed = new ChangeItem { PreviousState = "disabled", CurrentState = "enforced", RequestedState = "enforced", Action = "completed", Sent = true };
            Assert.Equal(
                "1 account: 1 Disabled -> Enforced (about a second); 1 account already changed by the interrupted run",
                BulkText.PlanSummary(new[] { Planned("disabled", "enforced", "change"), completed }, "about a second"));
        }

        [Fact]
        public void The_run_summary_has_changed_already_failed_and_by_state()
        {
            var tally = new ChangeTally();
            tally.Add("disabled", "enforced", "enforced", "changed", true);
            tally.Add("disabled", "enforced", "enforced", "changed", true);
            tally.Add("enabled", "enforced", "enforced", "changed", true);
            tally.Add("enforced", "enforced", "enforced", "alreadyInState", false);
            tally.Failed = 1;
            var text = tally.Summary("Set per-user MFA state", TimeSpan.FromSeconds(92.5), "/j.jsonl");
            Assert.Equal(
                "Set per-user MFA state: 5 accounts in 1 min 32 s" + Environment.NewLine +
                "  Changed:                3  (2 Disabled -> Enforced, 1 Enabled -> Enforced)" + Environment.NewLine +
                "  Already in state:       1  (Enforced 1)" + Environment.NewLine +
                "  Failed:                 1  (each is an error record naming the user and the cause)" + Environment.NewLine +
                "  By state now:      Enforced 4" + Environment.NewLine +
                "Journal: /j.jsonl",
                text);
        }

        [Fact]
        public void The_run_summary_says_when_Graph_ended_elsewhere_than_requested()
        {
            var tally = new ChangeTally();
            tally.Add("disabled", "enabled", "enforced", "changed", true, "diego@contoso.com");
            tally.Add("enabled", "enabled", "enabled", "alreadyInState", false, "adele@contoso.com");
            var text = tally.Summary("Set per-user MFA state", TimeSpan.FromSeconds(2), null);
            Assert.Contains("  1 account ended in another state than requested: diego@contoso.com (Enforced) (Graph enforces MFA for users who already registered methods", text);
            Assert.Contains("  By state now:      Enabled 1, Enforced 1", text);
            Assert.EndsWith("No journal was written: nothing was changed.", text);
        }

        [Fact]
        public void The_default_journal_folder_is_the_per_user_data_folder()
        {
            var expected = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "PerUserMfa", "journals");
            Assert.Equal(expected, JournalLocation.DefaultFolder());
            var utc = new DateTime(2026, 1, 31, 9, 15, 2, DateTimeKind.Utc);
            Assert.Equal(Path.Combine(expected, "20260131T091502Z-set-Enforced-abc123.jsonl"), JournalLocation.Choose(null, "set", PerUserMfaState.Enforced, utc, "abc123"));
            Assert.Equal("20260131T091502Z-undo-abc123.jsonl", JournalLocation.FileName(utc, "undo", null, "abc123"));
            Assert.Matches("^[0-9a-f]{6}$", JournalLocation.NewSuffix());
        }

        [Fact]
        public void A_given_journal_path_is_a_file_or_a_folder_for_a_generated_name()
        {
            var utc = new DateTime(2026, 1, 31, 9, 15, 2, DateTimeKind.Utc);
            var folder = Path.GetTempPath();
            Assert.Equal(Path.Combine(folder, "20260131T091502Z-set-Disabled-x.jsonl"), JournalLocation.Choose(folder, "set", PerUserMfaState.Disabled, utc, "x"));
            var missingFolder = Path.Combine(folder, "not-there-" + Guid.NewGuid().ToString("N")) + Path.DirectorySeparatorChar;
            Assert.Equal(missingFolder + "20260131T091502Z-set-Disabled-x.jsonl", JournalLocation.Choose(missingFolder, "set", PerUserMfaState.Disabled, utc, "x"));
            var file = Path.Combine(folder, "mine.jsonl");
            Assert.Equal(file, JournalLocation.Choose(file, "set", PerUserMfaState.Disabled, utc, "x"));
        }
    }
}
