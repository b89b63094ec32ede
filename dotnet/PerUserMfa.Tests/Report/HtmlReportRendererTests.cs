using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml;
using PerUserMfa.Report;
using Xunit;
using Xunit.Abstractions;

namespace PerUserMfa.Tests.Report
{
    public sealed class HtmlReportRendererTests
    {
        private const string Evil = "<script>alert(1)</script>";
        private static readonly DateTime Now = new DateTime(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc);
        private readonly ITestOutputHelper _output;

        public HtmlReportRendererTests(ITestOutputHelper output) => _output = output;

        private const ReportColumns StateColumns =
            ReportColumns.UserPrincipalName | ReportColumns.DisplayName | ReportColumns.Id | ReportColumns.PerUserMfaState;

        private const ReportColumns DetailedColumns = StateColumns | ReportColumns.UserType | ReportColumns.AccountEnabled |
            ReportColumns.IsLicensed | ReportColumns.IsAdmin | ReportColumns.IsMfaRegistered | ReportColumns.IsMfaCapable |
            ReportColumns.MethodsRegistered | ReportColumns.DefaultMfaMethod | ReportColumns.LastSignIn | ReportColumns.DaysSinceLastSignIn |
            ReportColumns.PasswordAgeDays | ReportColumns.PasswordLastChanged | ReportColumns.PasswordNeverExpires;

        private static ReportRow User(string upn, string state, string? name = null) => new ReportRow
        {
            Columns = StateColumns,
            UserPrincipalName = upn,
            DisplayName = name ?? upn.Split('@')[0],
            Id = Guid.NewGuid().ToString(),
            PerUserMfaState = state,
        };

        private static ReportRow Detailed(string upn, string state, bool admin, bool registered, int passwordAge, bool withMfaSignIn = false, DateTime? lastMfa = null)
        {
            var row = User(upn, state);
            row.Columns = DetailedColumns | (withMfaSignIn ? ReportColumns.LastMfaSignIn | ReportColumns.DaysSinceLastMfaSignIn : 0);
            row.UserType = "Member";
            row.AccountEnabled = true;
            row.IsLicensed = true;
            row.IsAdmin = admin;
            row.IsMfaRegistered = registered;
            row.IsMfaCapable = registered;
            row.MethodsRegistered = registered ? "microsoftAuthenticatorPush, mobilePhone" : string.Empty;
            row.DefaultMfaMethod = registered ? "microsoftAuthenticatorPush" : null;
            row.LastSignIn = Now.AddDays(-3);
            row.DaysSinceLastSignIn = 3;
            row.PasswordAgeDays = passwordAge;
            row.PasswordLastChanged = Now.AddDays(-passwordAge);
            row.PasswordNeverExpires = false;
            row.LastMfaSignIn = lastMfa;
            return row;
        }

        private static HtmlReportOptions Options(int noScriptLimit = 5000) => new HtmlReportOptions
        {
            GeneratedAtUtc = Now,
            TenantName = "Contoso",
            NoScriptRowLimit = noScriptLimit,
        };

        /// <summary>The report of the rows with the default options.</summary>
        private static string Render(params IReadOnlyList<ReportRow> rows) => HtmlReportRenderer.RenderToString(rows, Options());

        /// <summary>The name list (a details element) with the id, or empty when there is none.</summary>
        private static string NameList(string html, string id) =>
            Regex.Match(html, "<details class=\"names\" id=\"" + Regex.Escape(id) + "\"[\\s\\S]*?</details>").Value;

        /// <summary>Asserts that the name list with the id names the accounts listed and none of the others.</summary>
        private static void AssertNameList(string html, string id, string[] listed, string[] notListed)
        {
            var list = NameList(html, id);
            foreach (var name in listed)
            {
                Assert.Contains(name, list);
            }

            foreach (var name in notListed)
            {
                Assert.DoesNotContain(name, list);
            }
        }

        private static string Metric(string html, string name)
        {
            var match = Regex.Match(html, "data-metric=\"" + Regex.Escape(name) + "\"[^>]*>([^<]*)<");
            Assert.True(match.Success, "metric " + name + " is in the report");
            return match.Groups[1].Value;
        }

        [Fact]
        public void Escapes_text_attributes_and_script_data()
        {
            Assert.Equal("&lt;script&gt;alert(1)&lt;/script&gt;", HtmlText.Escape(Evil));
            Assert.Equal("a&amp;b &quot;q&quot; &#39;s&#39;", HtmlText.Escape("a&b \"q\" 's'"));
            Assert.Equal("\"\\u003c/script\\u003e \\u0026 \\\" \\u2028\"", HtmlText.ScriptJsonString("</script> & \" \u2028"));

            var rows = new List<ReportRow>
            {
                User("johanna.lorenz@contoso.com", "Enabled", Evil),
                User("x\"onmouseover=\"alert(2)@contoso.com", "Disabled", "Miriam O'Brien </noscript><img src=x onerror=alert(3)>"),
            };
            var options = Options();
            options.Title = "Report <b>" + Evil;
            options.TenantName = "\"><script>alert(4)</script>";
            var html = HtmlReportRenderer.RenderToString(rows, options);

            Assert.DoesNotContain(Evil, html);
            Assert.DoesNotContain("<img", html);
            Assert.DoesNotContain("alert(4)</script>", html);
            Assert.DoesNotContain("\"onmouseover=\"", html);
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
            Assert.Contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e", html);
            Assert.Contains("<title>Report &lt;b&gt;", html);

            // The only script elements are the report's two: every other "<script" is escaped.
            Assert.Equal(2, Regex.Matches(html, "<script", RegexOptions.IgnoreCase).Count);
            Assert.Equal(2, Regex.Matches(html, "</script", RegexOptions.IgnoreCase).Count);
            Assert.Single(Regex.Matches(html, "</noscript", RegexOptions.IgnoreCase));
        }

        [Fact]
        public void Summary_counts_and_shares_states()
        {
            var rows = new List<ReportRow>();
            for (var i = 0; i < 6; i++) rows.Add(User($"d{i}@contoso.com", "Disabled"));
            for (var i = 0; i < 3; i++) rows.Add(User($"e{i}@contoso.com", "enabled"));
            rows.Add(User("f0@contoso.com", "ENFORCED"));
            var html = Render(rows);

            Assert.Equal("10", Metric(html, "users"));
            Assert.Equal("6", Metric(html, "state-disabled"));
            Assert.Equal("3", Metric(html, "state-enabled"));
            Assert.Equal("1", Metric(html, "state-enforced"));
            Assert.Contains("data-share=\"state-disabled\">60%<", html);
            Assert.Contains("data-share=\"state-enabled\">30%<", html);
            Assert.Contains("data-share=\"state-enforced\">10%<", html);
            Assert.Equal("Contoso", Metric(html, "tenant"));
            Assert.Contains("datetime=\"2026-11-28T12:00:00Z\"", html);

            // Enabled/Enforced accounts listed by name; plain UserState input shows no detail parts.
            Assert.Contains("data-count=\"4\"", NameList(html, "list-per-user-mfa"));
            AssertNameList(html, "list-per-user-mfa", listed: ["e0 (e0@contoso.com)", "f0 (f0@contoso.com)"], notListed: ["d0@contoso.com"]);
            Assert.DoesNotContain("data-metric=\"mfa-registered\"", html);
            Assert.DoesNotContain("data-metric=\"old-passwords\"", html);
            Assert.DoesNotContain("chart-registration", html);
            Assert.DoesNotContain("Account enabled", html);
        }

        [Fact]
        public void Shares_round_to_one_decimal()
        {
            Assert.Equal("33.3%", ReportSummary.FormatShare(1, 3));
            Assert.Equal("0%", ReportSummary.FormatShare(0, 0));
            Assert.Equal("100%", ReportSummary.FormatShare(5, 5));
        }

        [Fact]
        public void Detailed_summary_counts_admins_registration_mfa_sign_ins_and_passwords()
        {
            var html = Render(
                Detailed("admin.nomfa@contoso.com", "Disabled", admin: true, registered: false, passwordAge: 400, withMfaSignIn: true),
                Detailed("admin.ok@contoso.com", "Enforced", admin: true, registered: true, passwordAge: 10, withMfaSignIn: true, lastMfa: Now.AddDays(-1)),
                Detailed("user.nomfa@contoso.com", "Enabled", admin: false, registered: false, passwordAge: 366, withMfaSignIn: true),
                Detailed("user.ok@contoso.com", "Disabled", admin: false, registered: true, passwordAge: 365, withMfaSignIn: true, lastMfa: Now.AddDays(-2)));

            Assert.Equal("4", Metric(html, "users"));
            Assert.Equal("2", Metric(html, "admins"));
            Assert.Equal("2", Metric(html, "mfa-registered"));
            Assert.Contains("data-share=\"mfa-registered\">50%<", html);
            Assert.Equal("2", Metric(html, "no-mfa-method"));
            Assert.Equal("1", Metric(html, "admins-no-mfa-method"));
            Assert.Equal("2", Metric(html, "no-mfa-sign-in"));
            Assert.Equal("2", Metric(html, "old-passwords"));

            AssertNameList(html, "list-admins-no-mfa-method", listed: ["admin.nomfa@contoso.com"], notListed: ["user.nomfa@contoso.com"]);
            AssertNameList(html, "list-old-passwords", listed: ["admin.nomfa@contoso.com", "user.nomfa@contoso.com"], notListed: ["user.ok@contoso.com"]);
            Assert.Contains("chart-registration", html);
            Assert.Contains("Account enabled", html);
        }

        [Fact]
        public void Highlights_enabled_and_enforced_rows()
        {
            var html = Render(
                User("a@contoso.com", "Disabled"),
                User("b@contoso.com", "Enabled"),
                User("c@contoso.com", "Enforced"));
            var tableRows = Regex.Matches(html, "<tr class=\"([^\"]*)\">.*?</tr>").Select(m => m).ToList();
            Assert.Equal(3, tableRows.Count);
            Assert.DoesNotContain("hl", tableRows.Single(m => m.Value.Contains("a@contoso.com")).Groups[1].Value.Split(' '));
            Assert.Contains("hl", tableRows.Single(m => m.Value.Contains("b@contoso.com")).Groups[1].Value.Split(' '));
            Assert.Contains("hl", tableRows.Single(m => m.Value.Contains("c@contoso.com")).Groups[1].Value.Split(' '));
        }

        [Fact]
        public void Without_script_a_large_report_lists_the_highlighted_accounts_and_says_so()
        {
            var rows = new List<ReportRow>();
            for (var i = 0; i < 50; i++) rows.Add(User($"u{i}@contoso.com", i % 10 == 0 ? "Enforced" : "Disabled"));
            var html = HtmlReportRenderer.RenderToString(rows, Options(noScriptLimit: 20));
            var noscript = Regex.Match(html, "<noscript>[\\s\\S]*</noscript>").Value;
            Assert.Equal(5, Regex.Matches(noscript, "<tr class=").Count);
            Assert.Contains("id=\"noscript-note\"", noscript);
            Assert.Contains("5 of 50 users", noscript);
            // The script still has every row.
            Assert.Equal(50, Regex.Matches(html, "\"u\\d+@contoso.com\"").Count);
        }

        [Fact]
        public void Charts_are_well_formed_svg_with_titles()
        {
            var html = Render(
                Detailed("a@contoso.com", "Disabled", false, true, 1),
                Detailed("b@contoso.com", "Enabled", false, false, 1),
                User("weird@contoso.com", "<b>odd</b>"));
            var svgs = Regex.Matches(html, "<svg[\\s\\S]*?</svg>").Select(m => m.Value).ToList();
            Assert.Equal(2, svgs.Count);
            foreach (var svg in svgs)
            {
                var doc = new XmlDocument();
                doc.LoadXml(svg);
                Assert.Equal("svg", doc.DocumentElement!.Name);
                Assert.Equal("img", doc.DocumentElement.GetAttribute("role"));
                Assert.NotNull(doc.DocumentElement["title"]);
                foreach (XmlElement group in doc.DocumentElement.GetElementsByTagName("g"))
                {
                    Assert.NotNull(group["title"]);
                    Assert.NotNull(group["rect"]);
                }
            }

            var state = new XmlDocument();
            state.LoadXml(svgs[0]);
            var titles = state.DocumentElement!.GetElementsByTagName("title").Cast<XmlElement>().Select(t => t.InnerText).ToList();
            Assert.Contains("Enabled: 1 users (33.3%)", titles);
            Assert.Contains("<b>odd</b>: 1 users (33.3%)", titles);
        }

        [Fact]
        public void Has_no_external_references()
        {
            var html = Render(Detailed("a@contoso.com", "Enabled", true, false, 500, withMfaSignIn: true));
            Assert.DoesNotMatch(new Regex("(src|href)\\s*=\\s*[\"']?\\s*(https?:|//)", RegexOptions.IgnoreCase), html);
            Assert.DoesNotContain("http://", html);
            Assert.DoesNotContain("https://", html);
            Assert.DoesNotContain("@import", html);
            Assert.DoesNotContain("url(", html);
            Assert.DoesNotMatch(new Regex("<(link|iframe|img|object|embed)\\b", RegexOptions.IgnoreCase), html);
        }

        [Fact]
        public void An_empty_report_is_valid()
        {
            var html = Render([]);
            Assert.Equal("0", Metric(html, "users"));
            Assert.Contains("\"rows\":[\n\n]}", html);
        }

        [Fact]
        public void Renders_100000_users_to_a_file_within_seconds()
        {
            var rows = new List<ReportRow>(100_000);
            var states = new[] { "Disabled", "Disabled", "Enabled", "Enforced" };
            for (var i = 0; i < 100_000; i++)
            {
                var row = Detailed($"user{i:D6}@contoso.com", states[i % 4], admin: i % 500 == 0, registered: i % 3 != 0, passwordAge: i % 800, withMfaSignIn: true,
                    lastMfa: i % 7 == 0 ? (DateTime?)null : Now.AddDays(-(i % 30)));
                row.DisplayName = "User " + i + (i % 1000 == 0 ? " <script>x</script>" : string.Empty);
                rows.Add(row);
            }

            var path = Path.Combine(Path.GetTempPath(), "pumfa-report-" + Guid.NewGuid().ToString("N") + ".html");
            try
            {
                var watch = Stopwatch.StartNew();
                HtmlReportRenderer.RenderToFile(path, rows, Options());
                watch.Stop();
                var size = new FileInfo(path).Length;
                _output.WriteLine($"100,000 users: {watch.ElapsedMilliseconds} ms, {size / 1024.0 / 1024.0:F1} MB");
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
                var html = File.ReadAllText(path);
                Assert.Equal("100,000", Metric(html, "users"));
                Assert.Equal("25,000", Metric(html, "state-enabled"));
                Assert.Equal(2, Regex.Matches(html, "<script", RegexOptions.IgnoreCase).Count);
                Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Theory]
        [InlineData("True", true)]
        [InlineData("false", false)]
        [InlineData("", null)]
        [InlineData("maybe", null)]
        public void Reads_booleans_from_csv_text(string text, bool? expected) => Assert.Equal(expected, ReportValue.ToBoolean(text));

        [Fact]
        public void Reads_dates_and_numbers_from_csv_text()
        {
            Assert.Equal(new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), ReportValue.ToUtcDateTime("2026-11-01T10:00:00Z"));
            Assert.Equal(DateTimeKind.Utc, ReportValue.ToUtcDateTime("2026-11-01T10:00:00Z")!.Value.Kind);
            Assert.Null(ReportValue.ToUtcDateTime(""));
            Assert.Equal(42, ReportValue.ToInt32("42"));
            Assert.Equal(7, ReportValue.ToInt32(7L));
            Assert.Null(ReportValue.ToInt32("n/a"));
            Assert.Equal("Enforced", ReportValue.NormalizeState("enforced"));
            Assert.Equal("Unknown", ReportValue.NormalizeState(null));
        }
    }
}
