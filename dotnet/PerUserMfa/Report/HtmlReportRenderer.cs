using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace PerUserMfa.Report
{
    /// <summary>
    /// Writes the per-user MFA report as one self-contained HTML file: no external fonts, styles,
    /// scripts or images, so it opens offline and can be mailed as an attachment.
    /// </summary>
    /// <remarks>
    /// <para>Layout: header (title, tenant, time), summary cards, two inline SVG charts, lists of the
    /// accounts that need attention, then the users table.</para>
    /// <para>The table has to stay usable at 100,000 users, so it is not 100,000 DOM rows. The rows are
    /// written once, as a compact JSON array of arrays in a <c>&lt;script type="application/json"&gt;</c>
    /// element; a few dozen lines of inline script show them 100 per page with sorting and per-column
    /// filters (JSON.parse and a filter over 100,000 arrays take milliseconds; a 100,000-row table takes
    /// the browser many seconds and hundreds of MB). Every cell is set with textContent, never innerHTML.
    /// Without script, a <c>&lt;noscript&gt;</c> table shows every user up to
    /// <see cref="HtmlReportOptions.NoScriptRowLimit"/> users; above that, the Enabled/Enforced accounts
    /// first (the ones the report is for), up to the limit, with a note saying how many are left out.
    /// The summary is plain HTML and reads the same with or without script.</para>
    /// </remarks>
    internal static class HtmlReportRenderer
    {
        /// <summary>Writes the report to <paramref name="path"/> (UTF-8 without BOM), replacing the file.</summary>
        public static void RenderToFile(string path, IReadOnlyList<ReportRow> rows, HtmlReportOptions options)
        {
            using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16))
            {
                Render(writer, rows, options);
            }
        }

        public static string RenderToString(IReadOnlyList<ReportRow> rows, HtmlReportOptions options)
        {
            var writer = new StringWriter(CultureInfo.InvariantCulture);
            Render(writer, rows, options);
            return writer.ToString();
        }

        public static void Render(TextWriter w, IReadOnlyList<ReportRow> rows, HtmlReportOptions options)
        {
            if (w == null)
            {
                throw new ArgumentNullException(nameof(w));
            }

            if (rows == null)
            {
                throw new ArgumentNullException(nameof(rows));
            }

            options ??= new HtmlReportOptions();
            var summary = ReportSummary.Build(rows, options.PasswordAgeThresholdDays, options.GeneratedAtUtc);
            var columns = ReportTableColumn.Present(summary.Columns);
            var title = string.IsNullOrWhiteSpace(options.Title) ? HtmlReportOptions.DefaultTitle : options.Title;

            w.Write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
            w.Write("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
            w.Write("<meta name=\"generator\" content=\"PerUserMfa Export-PerUserMfaReport\">\n<title>");
            HtmlText.Write(w, title);
            if (!string.IsNullOrWhiteSpace(options.TenantName))
            {
                w.Write(" \u2013 ");
                HtmlText.Write(w, options.TenantName);
            }

            w.Write("</title>\n<style>");
            w.Write(ReportAssets.Css);
            w.Write("</style>\n</head>\n<body>\n<header>\n<h1>");
            HtmlText.Write(w, title);
            w.Write("</h1>\n<p class=\"meta\">");
            if (!string.IsNullOrWhiteSpace(options.TenantName))
            {
                w.Write("Tenant <strong data-metric=\"tenant\">");
                HtmlText.Write(w, options.TenantName);
                w.Write("</strong> \u00b7 ");
            }

            if (!string.IsNullOrWhiteSpace(options.Scope))
            {
                w.Write("Scope <span data-metric=\"scope\">");
                HtmlText.Write(w, options.Scope);
                w.Write("</span> \u00b7 ");
            }

            w.Write("Generated <time data-metric=\"generated\" datetime=\"");
            var generated = options.GeneratedAtUtc.ToUniversalTime();
            w.Write(generated.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.Write("\">");
            w.Write(generated.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
            w.Write("</time></p>\n</header>\n<main>\n");

            WriteSummary(w, summary);
            WriteCharts(w, summary);
            WriteLists(w, summary, options);
            var migration = MigrationReadiness.Build(rows, options.MigrationTenant);
            if (migration != null)
            {
                WriteMigration(w, migration, options);
            }

            WriteTable(w, rows, summary, columns, options);

            w.Write("</main>\n<footer><p>Written by Export-PerUserMfaReport (PerUserMfa module). Per-user MFA: Disabled, Enabled or Enforced; accounts Enabled or Enforced are highlighted.</p></footer>\n");
            w.Write("<script>");
            w.Write(ReportAssets.Script);
            w.Write("</script>\n</body>\n</html>\n");
            w.Flush();
        }

        private static void WriteSummary(TextWriter w, ReportSummary s)
        {
            w.Write("<section aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n<div class=\"cards\">\n");
            Card(w, "users", "Users reported", s.Total, null, s.HasAdminData ? Count(s.Admins) + (s.Admins == 1 ? " admin" : " admins") : null, null, "admins", s.HasAdminData ? s.Admins : (int?)null);
            foreach (var pair in s.StateCounts)
            {
                if (pair.Value == 0 && Array.IndexOf(ReportSummary.KnownStates, pair.Key) < 0)
                {
                    continue;
                }

                var cls = "state-" + StateClass(pair.Key);
                Card(w, "state-" + StateClass(pair.Key), "Per-user MFA " + pair.Key, pair.Value, s.Share(pair.Value), null, cls);
            }

            if (s.HasRegistrationData)
            {
                Card(w, "mfa-registered", "MFA registered", s.MfaRegistered, s.Share(s.MfaRegistered),
                    s.MfaRegistrationUnknown > 0 ? Count(s.MfaRegistrationUnknown) + " not known" : null, "good");
                Card(w, "no-mfa-method", "No MFA method", s.NoMfaMethod.Count, s.Share(s.NoMfaMethod.Count),
                    s.HasAdminData ? Count(s.AdminsNoMfaMethod.Count) + (s.AdminsNoMfaMethod.Count == 1 ? " admin" : " admins") : null,
                    s.NoMfaMethod.Count > 0 ? "bad" : null, "admins-no-mfa-method", s.HasAdminData ? s.AdminsNoMfaMethod.Count : (int?)null);
            }

            if (s.HasMfaSignInData)
            {
                Card(w, "no-mfa-sign-in", "No MFA sign-in in the window", s.NoMfaSignIn.Count, s.Share(s.NoMfaSignIn.Count), "sign-in logs searched", s.NoMfaSignIn.Count > 0 ? "warn" : null);
            }

            if (s.HasPasswordAgeData)
            {
                Card(w, "old-passwords", "Passwords older than " + Count(s.PasswordAgeThresholdDays) + " days", s.OldPasswords.Count, s.Share(s.OldPasswords.Count), null, s.OldPasswords.Count > 0 ? "warn" : null);
            }

            w.Write("</div>\n</section>\n");
        }

        private static void Card(TextWriter w, string metric, string label, int value, string? share, string? note, string? cls,
            string? noteMetric = null, int? noteValue = null)
        {
            w.Write("<div class=\"card");
            if (cls != null)
            {
                w.Write(' ');
                HtmlText.Write(w, cls);
            }

            w.Write("\"><div class=\"label\">");
            HtmlText.Write(w, label);
            w.Write("</div><div class=\"value\"><span data-metric=\"");
            HtmlText.Write(w, metric);
            w.Write("\">");
            w.Write(Count(value));
            w.Write("</span>");
            if (share != null)
            {
                w.Write(" <span class=\"share\" data-share=\"");
                HtmlText.Write(w, metric);
                w.Write("\">");
                w.Write(share);
                w.Write("</span>");
            }

            w.Write("</div>");
            if (note != null)
            {
                w.Write("<div class=\"note\">");
                if (noteMetric != null && noteValue.HasValue)
                {
                    w.Write("<span data-metric=\"");
                    HtmlText.Write(w, noteMetric);
                    w.Write("\" hidden>");
                    w.Write(noteValue.Value.ToString(CultureInfo.InvariantCulture));
                    w.Write("</span>");
                }

                HtmlText.Write(w, note);
                w.Write("</div>");
            }

            w.Write("</div>\n");
        }

        private static void WriteCharts(TextWriter w, ReportSummary s)
        {
            w.Write("<section class=\"charts\" aria-label=\"Charts\">\n");
            var bars = new List<ChartBar>();
            foreach (var pair in s.StateCounts)
            {
                if (pair.Value == 0 && Array.IndexOf(ReportSummary.KnownStates, pair.Key) < 0)
                {
                    continue;
                }

                bars.Add(new ChartBar(pair.Key, pair.Value, "bar-" + StateClass(pair.Key)));
            }

            WriteBarChart(w, "chart-state", "Per-user MFA state", bars, s.Total);
            if (s.HasRegistrationData)
            {
                var reg = new List<ChartBar>
                {
                    new ChartBar("Registered", s.MfaRegistered, "bar-good"),
                    new ChartBar("Not registered", s.MfaNotRegistered, "bar-bad"),
                };
                if (s.MfaRegistrationUnknown > 0)
                {
                    reg.Add(new ChartBar("Not known", s.MfaRegistrationUnknown, "bar-unknown"));
                }

                WriteBarChart(w, "chart-registration", "MFA method registration", reg, s.Total);
            }

            w.Write("</section>\n");
        }

        private sealed class ChartBar
        {
            public ChartBar(string label, int count, string cls)
            {
                Label = label;
                Count = count;
                Class = cls;
            }

            public string Label { get; }
            public int Count { get; }
            public string Class { get; }
        }

        /// <summary>A horizontal bar chart as inline SVG (well-formed XML): one &lt;title&gt; for the chart,
        /// one per bar, and the count and share as text beside each bar.</summary>
        private static void WriteBarChart(TextWriter w, string id, string title, List<ChartBar> bars, int total)
        {
            const int width = 520, labelWidth = 120, barMax = 280, rowHeight = 34, top = 8;
            var height = top * 2 + rowHeight * bars.Count;
            var max = 0;
            foreach (var bar in bars)
            {
                max = Math.Max(max, bar.Count);
            }

            var description = new StringBuilder(title).Append(':');
            for (var i = 0; i < bars.Count; i++)
            {
                description.Append(i == 0 ? " " : ", ").Append(bars[i].Label).Append(' ').Append(Count(bars[i].Count))
                    .Append(" (").Append(ReportSummary.FormatShare(bars[i].Count, total)).Append(')');
            }

            w.Write("<figure class=\"chart\">\n<figcaption>");
            HtmlText.Write(w, title);
            w.Write("</figcaption>\n<svg id=\"");
            w.Write(id);
            w.Write("\" class=\"chart-svg\" role=\"img\" aria-labelledby=\"");
            w.Write(id);
            w.Write("-title\" viewBox=\"0 0 ");
            w.Write(Num(width));
            w.Write(' ');
            w.Write(Num(height));
            w.Write("\" width=\"");
            w.Write(Num(width));
            w.Write("\" height=\"");
            w.Write(Num(height));
            w.Write("\"><title id=\"");
            w.Write(id);
            w.Write("-title\">");
            HtmlText.Write(w, description.ToString());
            w.Write("</title>");
            for (var i = 0; i < bars.Count; i++)
            {
                var bar = bars[i];
                var y = top + i * rowHeight;
                var length = max == 0 ? 0 : (int)Math.Round((double)barMax * bar.Count / max);
                if (bar.Count > 0 && length < 2)
                {
                    length = 2;
                }

                w.Write("<g class=\"");
                HtmlText.Write(w, bar.Class);
                w.Write("\"><title>");
                HtmlText.Write(w, bar.Label + ": " + Count(bar.Count) + " users (" + ReportSummary.FormatShare(bar.Count, total) + ")");
                w.Write("</title><text class=\"bar-label\" x=\"");
                w.Write(Num(labelWidth - 8));
                w.Write("\" y=\"");
                w.Write(Num(y + 21));
                w.Write("\" text-anchor=\"end\">");
                HtmlText.Write(w, Truncate(bar.Label, 16));
                w.Write("</text><rect x=\"");
                w.Write(Num(labelWidth));
                w.Write("\" y=\"");
                w.Write(Num(y + 5));
                w.Write("\" width=\"");
                w.Write(Num(length));
                w.Write("\" height=\"22\" rx=\"3\"/><text class=\"bar-value\" x=\"");
                w.Write(Num(labelWidth + length + 8));
                w.Write("\" y=\"");
                w.Write(Num(y + 21));
                w.Write("\">");
                HtmlText.Write(w, Count(bar.Count) + " (" + ReportSummary.FormatShare(bar.Count, total) + ")");
                w.Write("</text></g>");
            }

            w.Write("</svg>\n</figure>\n");
        }

        private static void WriteLists(TextWriter w, ReportSummary s, HtmlReportOptions options)
        {
            w.Write("<section aria-labelledby=\"attention-h\">\n<h2 id=\"attention-h\">Accounts to review</h2>\n");
            NameList(w, "list-per-user-mfa", "Per-user MFA enabled or enforced", s.OnPerUserMfa, options.NameListLimit,
                "Move these accounts to Conditional Access before turning per-user MFA off.", showState: true);
            if (s.HasRegistrationData)
            {
                if (s.HasAdminData)
                {
                    NameList(w, "list-admins-no-mfa-method", "Admins with no MFA method", s.AdminsNoMfaMethod, options.NameListLimit,
                        "Administrators who could not complete an MFA prompt today.", open: s.AdminsNoMfaMethod.Count > 0 && s.AdminsNoMfaMethod.Count <= 20);
                }

                NameList(w, "list-no-mfa-method", "Accounts with no MFA method", s.NoMfaMethod, options.NameListLimit,
                    "They will be asked to register when an MFA policy first applies to them.");
            }

            if (s.HasMfaSignInData)
            {
                NameList(w, "list-no-mfa-sign-in", "No MFA sign-in in the window", s.NoMfaSignIn, options.NameListLimit,
                    "No sign-in with MFA in the sign-in logs searched (Get-PerUserMfaState -IncludeMfaSignIns -SignInDays).");
            }

            if (s.HasPasswordAgeData)
            {
                NameList(w, "list-old-passwords", "Passwords older than " + Count(s.PasswordAgeThresholdDays) + " days", s.OldPasswords,
                    options.NameListLimit, "Password not changed for longer than the threshold (-PasswordAgeThresholdDays).");
            }

            w.Write("</section>\n");
        }

        /// <summary>The Migration readiness section: verdict cards and chart, the policies that cover people,
        /// the accounts that would lose MFA (NotCovered, then PartiallyCovered with their gaps, then those that
        /// could not be judged), and the tenant-wide gaps.</summary>
        private static void WriteMigration(TextWriter w, MigrationReadiness m, HtmlReportOptions options)
        {
            w.Write("<section id=\"migration\" aria-labelledby=\"migration-h\">\n<h2 id=\"migration-h\">Migration readiness</h2>\n<p class=\"explain\">");
            HtmlText.Write(w, "Would each account still be asked for MFA if per-user MFA were Disabled? Verdicts of Test-PerUserMfaMigration for " +
                Count(m.Total) + (m.Total == 1 ? " account" : " accounts") + ": Covered (an enabled policy requires MFA everywhere), " +
                "PartiallyCovered (only some sign-ins), NotCovered (none), Unknown (an input could not be read).");
            w.Write("</p>\n<div class=\"cards\">\n");
            var bars = new List<ChartBar>();
            foreach (var pair in m.VerdictCounts)
            {
                if (pair.Value == 0 && Array.IndexOf(MigrationReadiness.KnownVerdicts, pair.Key) < 0)
                {
                    continue;
                }

                var tone = VerdictTone(pair.Key);
                Card(w, "verdict-" + pair.Key, pair.Key, pair.Value, ReportSummary.FormatShare(pair.Value, m.Total), null, tone);
                bars.Add(new ChartBar(pair.Key, pair.Value, "bar-" + (tone ?? "unknown")));
            }

            w.Write("</div>\n<section class=\"charts\" aria-label=\"Migration readiness chart\">\n");
            WriteBarChart(w, "chart-verdict", "Verdict if per-user MFA were Disabled", bars, m.Total);
            w.Write("</section>\n");

            w.Write("<h3>Policies that cover people</h3>\n");
            PolicyTable(w, "policies-covering", m.CoveringPolicies, "Accounts covered",
                "No enabled policy (nor security defaults) covers any of these accounts.");
            if (m.ReportOnlyPolicies.Count > 0)
            {
                w.Write("<p class=\"explain\">Report-only policies that would require MFA (not in force, so they count for no verdict):</p>\n");
                PolicyTable(w, "policies-report-only", m.ReportOnlyPolicies, "Accounts in scope", null);
            }

            w.Write("<h3>Accounts that would lose MFA</h3>\n");
            VerdictList(w, "list-not-covered", "NotCovered: no MFA at all without per-user MFA", m.NotCovered, options.NameListLimit,
                "Nothing else asks these accounts for MFA. Include them in a policy that requires MFA (or fix the exclusion) before disabling.",
                open: m.NotCovered.Count > 0 && m.NotCovered.Count <= 50, showGaps: true);
            VerdictList(w, "list-partially-covered", "PartiallyCovered: MFA for some sign-ins only", m.PartiallyCovered, options.NameListLimit,
                "A policy covers these accounts, but with gaps: each is listed under the account.",
                open: m.PartiallyCovered.Count > 0 && m.PartiallyCovered.Count <= 50, showGaps: true);
            if (m.Unknown.Count > 0)
            {
                VerdictList(w, "list-unknown", "Unknown: could not be judged", m.Unknown, options.NameListLimit,
                    "An input could not be read (see the reason); give the missing permission and test again.", open: false, showGaps: false);
            }

            w.Write("<h3>Tenant-wide gaps</h3>\n");
            if (m.Tenant == null)
            {
                w.Write("<p class=\"none\" id=\"tenant-gaps-unknown\">Not known: the tenant-wide part comes with Test-PerUserMfaMigration output piped (or kept in a variable) in the same PowerShell session; CSV rows and checks of several runs do not carry it.</p>\n");
            }
            else
            {
                w.Write("<ul class=\"tenant\" id=\"tenant-gaps\" data-count=\"");
                w.Write(m.Tenant.Gaps.Count.ToString(CultureInfo.InvariantCulture));
                w.Write("\">\n");
                foreach (var gap in m.Tenant.Gaps)
                {
                    w.Write("<li class=\"bad\">");
                    HtmlText.Write(w, gap);
                    w.Write("</li>\n");
                }

                if (m.Tenant.Gaps.Count == 0)
                {
                    w.Write("<li>No tenant-wide gap found.</li>\n");
                }

                foreach (var fact in m.Tenant.Facts)
                {
                    w.Write("<li>");
                    HtmlText.Write(w, fact);
                    w.Write("</li>\n");
                }

                w.Write("</ul>\n");
            }

            w.Write("</section>\n");
        }

        /// <summary>The card and bar tone of a verdict: good, warn, bad, or null (Unknown and anything else).</summary>
        private static string? VerdictTone(string verdict) => verdict switch
        {
            "Covered" => "good",
            "PartiallyCovered" => "warn",
            "NotCovered" => "bad",
            _ => null,
        };

        private static void PolicyTable(TextWriter w, string id, IReadOnlyList<KeyValuePair<string, int>> policies, string countTitle, string? whenNone)
        {
            if (policies.Count == 0)
            {
                w.Write("<p class=\"none\" id=\"");
                w.Write(id);
                w.Write("\">");
                HtmlText.Write(w, whenNone ?? "None.");
                w.Write("</p>\n");
                return;
            }

            w.Write("<div class=\"scroll\"><table class=\"policies\" id=\"");
            w.Write(id);
            w.Write("\"><thead><tr><th scope=\"col\">Policy</th><th scope=\"col\">");
            HtmlText.Write(w, countTitle);
            w.Write("</th></tr></thead><tbody>\n");
            foreach (var pair in policies)
            {
                w.Write("<tr><td>");
                HtmlText.Write(w, pair.Key);
                w.Write("</td><td class=\"num\" data-count=\"");
                w.Write(pair.Value.ToString(CultureInfo.InvariantCulture));
                w.Write("\">");
                w.Write(Count(pair.Value));
                w.Write("</td></tr>\n");
            }

            w.Write("</tbody></table></div>\n");
        }

        /// <summary>A list of accounts with a verdict: each with its state, its reason, and (with
        /// <paramref name="showGaps"/>) its gaps under it.</summary>
        private static void VerdictList(TextWriter w, string id, string title, List<ReportRow> rows, int limit, string explanation, bool open, bool showGaps)
        {
            NamesDetails(w, "names wide", id, title, rows, limit, explanation, open, "filter the table below by its Migration verdict column", (writer, row) =>
            {
                StateBadge(writer, StateClass(row.StateText), row.StateText);
                writer.Write(" <strong>");
                HtmlText.Write(writer, row.Label);
                writer.Write("</strong>");
                if (!string.IsNullOrEmpty(row.Reason))
                {
                    writer.Write(": ");
                    HtmlText.Write(writer, row.Reason);
                }

                if (showGaps && row.Gaps.Count > 0)
                {
                    writer.Write("<ul class=\"gaps\">");
                    foreach (var gap in row.Gaps)
                    {
                        writer.Write("<li>");
                        HtmlText.Write(writer, gap);
                        writer.Write("</li>");
                    }

                    writer.Write("</ul>");
                }
            });
        }

        private static void NameList(TextWriter w, string id, string title, List<ReportRow> rows, int limit, string explanation,
            bool showState = false, bool open = false)
        {
            NamesDetails(w, "names", id, title, rows, limit, explanation, open, "filter the table below", (writer, row) =>
            {
                if (showState)
                {
                    StateBadge(writer, StateClass(row.StateText), row.StateText);
                    writer.Write(" ");
                }

                HtmlText.Write(writer, row.Label);
            });
        }

        /// <summary>A collapsible list of accounts (open when <paramref name="open"/>): its count, an
        /// explanation, the first <paramref name="limit"/> rows each written by <paramref name="writeItem"/>,
        /// and how many more the table holds.</summary>
        private static void NamesDetails(TextWriter w, string cssClass, string id, string title, List<ReportRow> rows, int limit,
            string explanation, bool open, string whereTheRestAre, Action<TextWriter, ReportRow> writeItem)
        {
            w.Write("<details class=\"");
            w.Write(cssClass);
            w.Write("\" id=\"");
            w.Write(id);
            w.Write('"');
            if (open)
            {
                w.Write(" open");
            }

            w.Write("><summary>");
            HtmlText.Write(w, title);
            w.Write(": <strong data-count=\"");
            w.Write(rows.Count.ToString(CultureInfo.InvariantCulture));
            w.Write("\">");
            w.Write(Count(rows.Count));
            w.Write("</strong></summary>\n<p class=\"explain\">");
            HtmlText.Write(w, explanation);
            w.Write("</p>\n");
            if (rows.Count == 0)
            {
                w.Write("<p class=\"none\">None.</p>\n</details>\n");
                return;
            }

            w.Write("<ul>\n");
            var shown = Math.Min(rows.Count, Math.Max(0, limit));
            for (var i = 0; i < shown; i++)
            {
                w.Write("<li>");
                writeItem(w, rows[i]);
                w.Write("</li>\n");
            }

            w.Write("</ul>\n");
            if (shown < rows.Count)
            {
                w.Write("<p class=\"more\">\u2026and ");
                w.Write(Count(rows.Count - shown));
                w.Write(" more: ");
                w.Write(whereTheRestAre);
                w.Write(", or use Export-Csv for the full list.</p>\n");
            }

            w.Write("</details>\n");
        }

        private static void WriteTable(TextWriter w, IReadOnlyList<ReportRow> rows, ReportSummary s, List<ReportTableColumn> columns, HtmlReportOptions options)
        {
            w.Write("<section aria-labelledby=\"users-h\">\n<h2 id=\"users-h\">Users</h2>\n");
            w.Write("<p class=\"explain\">Accounts with per-user MFA Enabled or Enforced are highlighted.<span id=\"grid-hint\" hidden> Click a column heading to sort; type in the box under it to filter (text matches anywhere; for numbers <code>&gt;90</code>, <code>&lt;30</code> or <code>=0</code>; for yes/no columns <code>yes</code> or <code>no</code>).</span></p>\n");
            w.Write("<div id=\"grid\" data-total=\"");
            w.Write(rows.Count.ToString(CultureInfo.InvariantCulture));
            w.Write("\"></div>\n");

            WriteNoScriptTable(w, rows, s, columns, options);

            // The data for the script: {"pageSize":..,"columns":[{key,title,type}],"rows":[[..],..]}.
            w.Write("<script type=\"application/json\" id=\"report-data\">{\"pageSize\":");
            w.Write(Math.Max(1, options.PageSize).ToString(CultureInfo.InvariantCulture));
            w.Write(",\"columns\":[");
            var builder = new StringBuilder(40000);
            for (var c = 0; c < columns.Count; c++)
            {
                builder.Clear();
                if (c > 0)
                {
                    builder.Append(',');
                }

                builder.Append("{\"key\":");
                HtmlText.AppendScriptJsonString(builder, columns[c].Key);
                builder.Append(",\"title\":");
                HtmlText.AppendScriptJsonString(builder, columns[c].Title);
                builder.Append(",\"type\":\"").Append(columns[c].Type).Append("\"}");
                w.Write(builder.ToString());
            }

            w.Write("],\"rows\":[\n");
            builder.Clear();
            for (var r = 0; r < rows.Count; r++)
            {
                if (builder.Length > 32768)
                {
                    w.Write(builder.ToString());
                    builder.Clear();
                }

                builder.Append(r == 0 ? "[" : ",\n[");
                for (var c = 0; c < columns.Count; c++)
                {
                    if (c > 0)
                    {
                        builder.Append(',');
                    }

                    AppendJsonCell(builder, columns[c].Value(rows[r]));
                }

                builder.Append(']');
            }

            w.Write(builder.ToString());

            w.Write("\n]}</script>\n</section>\n");
        }

        private static void WriteNoScriptTable(TextWriter w, IReadOnlyList<ReportRow> rows, ReportSummary s, List<ReportTableColumn> columns, HtmlReportOptions options)
        {
            var limit = Math.Max(0, options.NoScriptRowLimit);
            w.Write("<noscript>\n");
            IEnumerable<ReportRow> selected;
            if (rows.Count <= limit)
            {
                selected = rows;
            }
            else
            {
                selected = Highlighted(rows, s, limit);
                w.Write("<p class=\"notice\" id=\"noscript-note\">Script is off, so this table shows ");
                w.Write(Count(Math.Min(limit, s.OnPerUserMfa.Count)));
                w.Write(" of ");
                w.Write(Count(rows.Count));
                w.Write(" users: the accounts with per-user MFA Enabled or Enforced");
                w.Write(s.OnPerUserMfa.Count > limit ? " (the first " + Count(limit) + ")" : string.Empty);
                w.Write(". Allow script for this file to page, sort and filter all users, or use Export-Csv for every row.</p>\n");
            }

            w.Write("<div class=\"scroll\"><table class=\"users static\">\n<thead><tr>");
            foreach (var column in columns)
            {
                w.Write("<th scope=\"col\">");
                HtmlText.Write(w, column.Title);
                w.Write("</th>");
            }

            w.Write("</tr></thead>\n<tbody>\n");
            foreach (var row in selected)
            {
                WriteHtmlRow(w, row, columns);
            }

            w.Write("</tbody>\n</table></div>\n</noscript>\n");
        }

        private static IEnumerable<ReportRow> Highlighted(IReadOnlyList<ReportRow> rows, ReportSummary s, int limit)
        {
            for (var i = 0; i < s.OnPerUserMfa.Count && i < limit; i++)
            {
                yield return s.OnPerUserMfa[i];
            }
        }

        private static void WriteHtmlRow(TextWriter w, ReportRow row, List<ReportTableColumn> columns)
        {
            var stateClass = StateClass(row.StateText);
            w.Write(row.IsOnPerUserMfa ? "<tr class=\"hl state-" : "<tr class=\"state-");
            w.Write(stateClass);
            w.Write("\">");
            foreach (var column in columns)
            {
                var value = column.Value(row);
                var bad = value is false && (column.Source == ReportColumns.IsMfaRegistered || column.Source == ReportColumns.IsMfaCapable);
                w.Write(column.Type == ReportTableColumn.Number ? "<td class=\"num\">" : bad ? "<td class=\"bad\">" : "<td>");
                if (column.Type == ReportTableColumn.State)
                {
                    StateBadge(w, stateClass, value as string);
                }
                else
                {
                    HtmlText.Write(w, CellText(value));
                }

                w.Write("</td>");
            }

            w.Write("</tr>\n");
        }

        private static string? CellText(object? value) => value switch
        {
            null => null,
            bool b => b ? "Yes" : "No",
            int i => i.ToString(CultureInfo.InvariantCulture),
            DateTime d => ReportValue.FormatDateTime(d),
            string text => text,
            _ => Convert.ToString(value, CultureInfo.InvariantCulture),
        };

        private static void AppendJsonCell(StringBuilder builder, object? value)
        {
            switch (value)
            {
                case null:
                    builder.Append("null");
                    break;
                case bool b:
                    builder.Append(b ? "true" : "false");
                    break;
                case int i:
                    builder.Append(i.ToString(CultureInfo.InvariantCulture));
                    break;
                case DateTime d:
                    builder.Append('"').Append(ReportValue.FormatDateTime(d)).Append('"');
                    break;
                case string s:
                    HtmlText.AppendScriptJsonString(builder, s);
                    break;
                default:
                    HtmlText.AppendScriptJsonString(builder, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
                    break;
            }
        }

        /// <summary>A per-user MFA state as a badge in its state's colour.</summary>
        private static void StateBadge(TextWriter w, string stateClass, string? text)
        {
            w.Write("<span class=\"badge state-");
            w.Write(stateClass);
            w.Write("\">");
            HtmlText.Write(w, text);
            w.Write("</span>");
        }

        /// <summary>A CSS class part for a state: disabled, enabled, enforced, unknown, or "other".</summary>
        internal static string StateClass(string state) => state switch
        {
            "Disabled" => "disabled",
            "Enabled" => "enabled",
            "Enforced" => "enforced",
            "Unknown" => "unknown",
            _ => "other",
        };

        private static string Count(int value) => value.ToString("#,0", CultureInfo.InvariantCulture);

        private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

        private static string Truncate(string text, int max) => text.Length <= max ? text : text.Substring(0, max - 1) + "\u2026";
    }
}
