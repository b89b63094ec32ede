using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;

namespace PerUserMfa.Report
{
    /// <summary>
    /// The tenant half of a Test-PerUserMfaMigration run, for the report. The tenant summary (security
    /// defaults, the policies that require MFA, tenant-wide gaps) goes to the information stream, not the
    /// output, so <c>Test-PerUserMfaMigration | Export-PerUserMfaReport</c> would not see it. Each run marks
    /// its MigrationCheck objects (a <see cref="MigrationCheck"/> in its internal Run property; the objects
    /// with sign-in or What-If columns with a second type name naming the run: the first still selects the
    /// view, Export-Csv writes no second type name) and records its summary here, so the report can show the
    /// tenant-wide part of the very run its checks came from. Import-Csv rows carry no run: the report says
    /// the tenant-wide part is not known.
    /// </summary>
    internal static class MigrationRuns
    {
        private const string RunTypeNamePrefix = "PerUserMfa.MigrationRun#";

        /// <summary>How many runs' summaries are kept (each is a few lines).</summary>
        private const int Kept = 32;

        /// <summary>The first line of the engine's tenant summary (ops/migration/summary.rs).</summary>
        internal const string SummaryFirstLine = "Migration readiness:";

        /// <summary>The prefix of a tenant-wide gap's line in the engine's tenant summary.</summary>
        internal const string TenantGapPrefix = "Tenant-wide gap: ";

        private static readonly object Gate = new object();
        private static readonly Dictionary<string, TenantMigrationSummary> Summaries = new Dictionary<string, TenantMigrationSummary>(StringComparer.Ordinal);
        private static readonly Queue<string> Order = new Queue<string>();
        private static int _lastRun;

        /// <summary>A name for a new run.</summary>
        public static string NewRun() => RunTypeNamePrefix + Interlocked.Increment(ref _lastRun).ToString(System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>Marks a MigrationCheck object as coming from <paramref name="run"/>.</summary>
        public static void Mark(PSObject check, string run) => check.TypeNames.Insert(check.TypeNames.Count > 0 ? 1 : 0, run);

        /// <summary>The run that emitted <paramref name="input"/>, or null when it came from elsewhere.</summary>
        public static string? RunOf(PSObject input)
        {
            if (input.BaseObject is MigrationCheck check)
            {
                return check.Run;
            }

            foreach (var name in input.TypeNames)
            {
                if (name.StartsWith(RunTypeNamePrefix, StringComparison.Ordinal))
                {
                    return name;
                }
            }

            return null;
        }

        /// <summary>Records a run's tenant summary when <paramref name="message"/> is one (other information
        /// lines are ignored). Returns whether it was.</summary>
        public static bool RecordIfSummary(string run, string? message)
        {
            if (message == null || !message.StartsWith(SummaryFirstLine, StringComparison.Ordinal))
            {
                return false;
            }

            var summary = TenantMigrationSummary.Parse(message);
            lock (Gate)
            {
                if (!Summaries.ContainsKey(run))
                {
                    Order.Enqueue(run);
                }

                Summaries[run] = summary;
                while (Order.Count > Kept)
                {
                    Summaries.Remove(Order.Dequeue());
                }
            }

            return true;
        }

        /// <summary>The tenant summary <paramref name="run"/> recorded, or null.</summary>
        public static TenantMigrationSummary? Find(string? run)
        {
            if (run == null)
            {
                return null;
            }

            lock (Gate)
            {
                return Summaries.TryGetValue(run, out var summary) ? summary : null;
            }
        }
    }

    /// <summary>The tenant-wide lines of a run's summary: facts (security defaults, licence, the policies
    /// that require MFA) and gaps.</summary>
    internal sealed class TenantMigrationSummary
    {
        private TenantMigrationSummary(IReadOnlyList<string> facts, IReadOnlyList<string> gaps)
        {
            Facts = facts;
            Gaps = gaps;
        }

        public IReadOnlyList<string> Facts { get; }

        public IReadOnlyList<string> Gaps { get; }

        /// <summary>The engine's summary text: the counts line first (the report counts for itself), then one
        /// line per fact, then one "Tenant-wide gap: " line per gap.</summary>
        public static TenantMigrationSummary Parse(string text)
        {
            var facts = new List<string>();
            var gaps = new List<string>();
            var lines = text.Replace("\r\n", "\n").Split('\n');
            for (var i = 1; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                if (line.StartsWith(MigrationRuns.TenantGapPrefix, StringComparison.Ordinal))
                {
                    gaps.Add(line.Substring(MigrationRuns.TenantGapPrefix.Length));
                }
                else
                {
                    facts.Add(line);
                }
            }

            return new TenantMigrationSummary(facts, gaps);
        }
    }
}
