using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Connection;
using PerUserMfa.Errors;
using PerUserMfa.Report;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Export-PerUserMfaReport: binds pipeline objects by property name, converts them to report rows
    /// (a migration check joined to the user's report row by Id, see <see cref="JoinChecksToUsers"/>) and hands them to <see cref="HtmlReportRenderer"/>. Rows are kept in memory (the summary needs
    /// totals). User help: docs/help/Export-PerUserMfaReport.md.</summary>
    [Cmdlet(VerbsData.Export, "PerUserMfaReport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpUris.Pages + "Export-PerUserMfaReport.md")]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportPerUserMfaReportCommand : PSCmdlet
    {
        private readonly List<ReportRow> _rows = new List<ReportRow>();
        private string _fullPath = string.Empty;
        private string? _commonMarker;
        private string? _commonRun;
        private int _users;
        private int _checks;
        private int _rejected;

        /// <summary>The HTML file to write.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = string.Empty;

        /// <summary>Get-PerUserMfaState output, Test-PerUserMfaMigration output, or both (joined by Id); or
        /// Import-Csv rows with the same columns.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [AllowNull]
        public PSObject? InputObject { get; set; }

        /// <summary>The report's heading (default "Per-user MFA report").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Title { get; set; } = HtmlReportOptions.DefaultTitle;

        /// <summary>The tenant's name for the header. Default: the tenant id of the current connection.</summary>
        [Parameter]
        public string? TenantName { get; set; }

        /// <summary>Passwords older than this many days are listed (default 365).</summary>
        [Parameter]
        [ValidateRange(1, 36500)]
        public int PasswordAgeThresholdDays { get; set; } = 365;

        /// <summary>Emit the written file's FileInfo.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            string resolved;
            try
            {
                resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path, out var provider, out _);
                if (provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
                {
                    Fail("ReportPathNotFileSystem", ErrorCategory.InvalidArgument,
                        $"Cannot write the report to '{Path}': the path is not a file system path.", null);
                    return;
                }
            }
            catch (Exception e) when (e is not PipelineStoppedException && e is not PipelineClosedException)
            {
                Fail("ReportPathInvalid", ErrorCategory.InvalidArgument, $"Cannot write the report to '{Path}': {e.Message}", e);
                return;
            }

            if (Directory.Exists(resolved))
            {
                Fail("ReportPathIsFolder", ErrorCategory.InvalidArgument,
                    $"Cannot write the report to '{resolved}': it is a folder. Give a file name, for example '{System.IO.Path.Combine(resolved, "per-user-mfa.html")}'.", null);
            }

            var folder = System.IO.Path.GetDirectoryName(resolved);
            if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
            {
                Fail("ReportFolderNotFound", ErrorCategory.ObjectNotFound,
                    $"Cannot write the report to '{resolved}': the folder '{folder}' does not exist. Create it first (New-Item -ItemType Directory).", null);
            }

            _fullPath = resolved;
        }

        protected override void ProcessRecord()
        {
            if (InputObject == null)
            {
                return;
            }

            var row = ReportRowReader.Read(InputObject);
            if (row == null || !row.Columns.HasFlag(ReportColumns.PerUserMfaState)
                || !(row.Columns.HasFlag(ReportColumns.UserPrincipalName) || row.Columns.HasFlag(ReportColumns.Id)))
            {
                Reject(InputObject);
                return;
            }

            if (row.HasVerdict)
            {
                var run = MigrationRuns.RunOf(InputObject);
                _commonRun = _checks == 0 ? run : (_commonRun == run ? run : null);
                _checks++;
            }
            else
            {
                var marker = ReportScope.Of(InputObject);
                _commonMarker = _users == 0 ? marker : (_commonMarker == marker ? marker : null);
                _users++;
            }

            _rows.Add(row);
        }

        protected override void EndProcessing()
        {
            if (_rejected > 1)
            {
                WriteWarning($"{_rejected - 1:N0} more input objects were not users either and are not in the report.");
            }

            var joined = JoinChecksToUsers(_rows);
            if (_rows.Count == 0)
            {
                // An empty report would look like a tenant with no users; say why there is none instead.
                WriteError(ErrorRecordFactory.FromException(new PerUserMfaException(
                    _rejected == 0
                        ? $"No users were given, so no report was written to '{_fullPath}'. Pipe Get-PerUserMfaState output to Export-PerUserMfaReport (check that the command before it returned users)."
                        : $"None of the {_rejected:N0} input objects was a user, so no report was written to '{_fullPath}'.",
                    "ReportInputEmpty",
                    ErrorCategory.InvalidData)
                {
                    Target = Path,
                }));
                return;
            }

            var exists = File.Exists(_fullPath);
            var action = exists
                ? $"Overwrite the file with an HTML report of {_rows.Count} users"
                : $"Write an HTML report of {_rows.Count} users";
            if (!ShouldProcess(_fullPath, action))
            {
                return;
            }

            var options = new HtmlReportOptions
            {
                Title = Title,
                TenantName = string.IsNullOrWhiteSpace(TenantName) ? ConnectedTenant() : TenantName,
                // A check that joined no report row adds an account the listing did not have.
                Scope = ReportScope.Describe(joined == _checks ? _commonMarker : null, _rows.Count),
                MigrationTenant = MigrationRuns.Find(_commonRun),
                GeneratedAtUtc = DateTime.UtcNow,
                PasswordAgeThresholdDays = PasswordAgeThresholdDays,
            };
            try
            {
                HtmlReportRenderer.RenderToFile(_fullPath, _rows, options);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.SecurityException)
            {
                Fail("ReportWriteFailed", ErrorCategory.WriteError, $"Cannot write the report to '{_fullPath}': {e.Message}", e);
                return;
            }

            WriteVerbose($"Wrote the report of {_rows.Count} users to {_fullPath}.");
            if (PassThru.IsPresent)
            {
                WriteObject(new FileInfo(_fullPath));
            }
        }

        /// <summary>
        /// Test-PerUserMfaMigration output given together with report rows (Get-PerUserMfaState, -Detailed):
        /// each check whose Id (else UPN) matches a report row adds its verdict, policies, gaps and reason to
        /// that row and is removed, so every account is one row. A check with no matching row stays a row of
        /// its own; a second check of the same account is dropped (the first wins, as in the pipeline).
        /// Returns how many checks were joined to report rows.
        /// </summary>
        private static int JoinChecksToUsers(List<ReportRow> rows)
        {
            // Which rows are checks is decided before joining: a joined report row has a verdict too.
            var checks = new HashSet<ReportRow>(rows.Where(row => row.HasVerdict));
            var users = new Dictionary<string, ReportRow>(StringComparer.OrdinalIgnoreCase);
            foreach (var row in rows)
            {
                if (!checks.Contains(row))
                {
                    foreach (var key in JoinKeys(row))
                    {
                        if (!users.ContainsKey(key))
                        {
                            users[key] = row;
                        }
                    }
                }
            }

            var joined = 0;
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            rows.RemoveAll(row =>
            {
                if (!checks.Contains(row))
                {
                    return false;
                }

                var keys = JoinKeys(row);
                var repeated = keys.Any(key => seen.Contains(key));
                seen.UnionWith(keys);
                if (repeated)
                {
                    return true;
                }

                foreach (var key in keys)
                {
                    if (users.TryGetValue(key, out var user))
                    {
                        user.TakeMigrationCheck(row);
                        joined++;
                        return true;
                    }
                }

                return false;
            });
            return joined;
        }

        /// <summary>The keys a row is joined by: its Id (without braces), then its UPN.</summary>
        private static List<string> JoinKeys(ReportRow row)
        {
            var keys = new List<string>(2);
            if (!string.IsNullOrWhiteSpace(row.Id))
            {
                keys.Add("id:" + row.Id!.Trim().Trim('{', '}'));
            }

            if (!string.IsNullOrWhiteSpace(row.UserPrincipalName))
            {
                keys.Add("upn:" + row.UserPrincipalName!.Trim());
            }

            return keys;
        }

        /// <summary>The first object that is not a user gets an error saying what the report takes and what
        /// the object has; the rest (Get-Process gives hundreds) are counted in one warning at the end.</summary>
        private void Reject(PSObject input)
        {
            _rejected++;
            if (_rejected > 1)
            {
                return;
            }

            var value = input.BaseObject;
            var names = input.Properties.Select(p => p.Name).Take(12).ToList();
            var what = value is string text
                ? $"the string '{text}'"
                : $"an object of type {(value is PSCustomObject ? input.TypeNames.FirstOrDefault() ?? "PSCustomObject" : value.GetType().FullName)} with " +
                  (names.Count == 0 ? "no properties" : "the properties " + string.Join(", ", names) + (input.Properties.Count() > names.Count ? ", ..." : string.Empty));
            WriteError(ErrorRecordFactory.FromException(new PerUserMfaException(
                $"Export-PerUserMfaReport takes Get-PerUserMfaState or Test-PerUserMfaMigration output (or Import-Csv of it): objects with PerUserMfaState and UserPrincipalName or Id. It was given {what}, which is not in the report.",
                "ReportInputNotAUser",
                ErrorCategory.InvalidData)
            {
                Target = input.ToString(),
            }));
        }

        /// <summary>The tenant of the current connection, for a report written without -TenantName.</summary>
        private static string? ConnectedTenant()
        {
            var session = ConnectionContext.Current;
            return session == null ? null : ConnectionInfo.TryRead(session)?.Get("tenantId");
        }

        private void Fail(string errorId, ErrorCategory category, string message, Exception? cause)
        {
            ThrowTerminatingError(ErrorRecordFactory.FromException(new PerUserMfaException(message, errorId, category, cause) { Target = Path }));
        }
    }
}
