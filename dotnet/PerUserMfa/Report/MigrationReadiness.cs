using System;
using System.Collections.Generic;
using System.Linq;

namespace PerUserMfa.Report
{
    /// <summary>
    /// The report's Migration readiness section, counted over the users that carry a Test-PerUserMfaMigration
    /// verdict: counts per verdict, the policies that cover people, the accounts that would lose MFA, and the
    /// tenant-wide part of the run (when the checks came from a run in this session).
    /// </summary>
    internal sealed class MigrationReadiness
    {
        /// <summary>The four verdicts in display order; other values found in the input follow them.</summary>
        public static readonly string[] KnownVerdicts = { "Covered", "PartiallyCovered", "NotCovered", "Unknown" };

        private readonly Dictionary<string, int> _verdictCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly List<string> _verdictOrder = new List<string>(KnownVerdicts);

        private MigrationReadiness(TenantMigrationSummary? tenant)
        {
            Tenant = tenant;
            foreach (var verdict in KnownVerdicts)
            {
                _verdictCounts[verdict] = 0;
            }
        }

        /// <summary>Users with a verdict.</summary>
        public int Total { get; private set; }

        /// <summary>Enabled CA policies (or "Security defaults") and how many users each covers, most first.</summary>
        public IReadOnlyList<KeyValuePair<string, int>> CoveringPolicies { get; private set; } = Array.Empty<KeyValuePair<string, int>>();

        /// <summary>Report-only policies that would require MFA, and how many users each would reach.</summary>
        public IReadOnlyList<KeyValuePair<string, int>> ReportOnlyPolicies { get; private set; } = Array.Empty<KeyValuePair<string, int>>();

        public List<ReportRow> NotCovered { get; } = new List<ReportRow>();
        public List<ReportRow> PartiallyCovered { get; } = new List<ReportRow>();
        public List<ReportRow> Unknown { get; } = new List<ReportRow>();

        /// <summary>The run's tenant-wide part; null when the checks came from elsewhere (Import-Csv) or from
        /// several runs.</summary>
        public TenantMigrationSummary? Tenant { get; }

        /// <summary>The verdicts found, the four known ones first, with their counts.</summary>
        public IEnumerable<KeyValuePair<string, int>> VerdictCounts =>
            _verdictOrder.Select(v => new KeyValuePair<string, int>(v, _verdictCounts[v]));

        public int CountOf(string verdict) => _verdictCounts.TryGetValue(verdict, out var count) ? count : 0;

        /// <summary>The section's figures, or null when no row carries a verdict (no section).</summary>
        public static MigrationReadiness? Build(IEnumerable<ReportRow> rows, TenantMigrationSummary? tenant)
        {
            var readiness = new MigrationReadiness(tenant);
            var covering = new Dictionary<string, int>(StringComparer.Ordinal);
            var reportOnly = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var row in rows)
            {
                if (!row.HasVerdict)
                {
                    continue;
                }

                readiness.Total++;
                var verdict = string.IsNullOrWhiteSpace(row.Verdict) ? "Unknown" : row.Verdict!.Trim();
                if (!readiness._verdictCounts.ContainsKey(verdict))
                {
                    readiness._verdictCounts[verdict] = 0;
                    readiness._verdictOrder.Add(verdict);
                }

                readiness._verdictCounts[verdict]++;
                switch (verdict)
                {
                    case "NotCovered":
                        readiness.NotCovered.Add(row);
                        break;
                    case "PartiallyCovered":
                        readiness.PartiallyCovered.Add(row);
                        break;
                    case "Covered":
                        break;
                    default:
                        readiness.Unknown.Add(row);
                        break;
                }

                CountEach(covering, row.CoveredBy);
                CountEach(reportOnly, row.ReportOnly);
            }

            if (readiness.Total == 0)
            {
                return null;
            }

            readiness.CoveringPolicies = MostFirst(covering);
            readiness.ReportOnlyPolicies = MostFirst(reportOnly);
            return readiness;
        }

        /// <summary>Each name once per user (a user listing a policy twice counts once).</summary>
        private static void CountEach(Dictionary<string, int> counts, IReadOnlyList<string> names)
        {
            foreach (var name in names.Distinct(StringComparer.Ordinal))
            {
                counts[name] = counts.TryGetValue(name, out var count) ? count + 1 : 1;
            }
        }

        private static IReadOnlyList<KeyValuePair<string, int>> MostFirst(Dictionary<string, int> counts) =>
            counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.OrdinalIgnoreCase).ToList();
    }
}
