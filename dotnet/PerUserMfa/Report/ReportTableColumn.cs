using System;
using System.Collections.Generic;

namespace PerUserMfa.Report
{
    /// <summary>
    /// A column of the users table. The table shows the columns an admin reviews; the rest of a
    /// UserReport's properties (PreferredMfaMethod, SignInSessionsValidFrom, PasswordPolicies, ...)
    /// stay in Export-Csv output.
    /// </summary>
    internal sealed class ReportTableColumn
    {
        public const char Text = 's';
        public const char Number = 'n';
        public const char Boolean = 'b';
        public const char Date = 'd';
        public const char State = 'm';

        private ReportTableColumn(ReportColumns source, string key, string title, char type, Func<ReportRow, object?> value)
        {
            Source = source;
            Key = key;
            Title = title;
            Type = type;
            Value = value;
        }

        public ReportColumns Source { get; }
        public string Key { get; }
        public string Title { get; }
        public char Type { get; }

        /// <summary>string, int?, bool? or DateTime? (null: no value).</summary>
        public Func<ReportRow, object?> Value { get; }

        public static readonly IReadOnlyList<ReportTableColumn> All = new[]
        {
            new ReportTableColumn(ReportColumns.UserPrincipalName, "upn", "User principal name", Text, r => r.UserPrincipalName),
            new ReportTableColumn(ReportColumns.DisplayName, "name", "Display name", Text, r => r.DisplayName),
            new ReportTableColumn(ReportColumns.PerUserMfaState, "state", "Per-user MFA", State, r => r.StateText),
            new ReportTableColumn(ReportColumns.Verdict, "verdict", "Migration verdict", Text, r => r.Verdict),
            new ReportTableColumn(ReportColumns.UserType, "type", "Type", Text, r => r.UserType),
            new ReportTableColumn(ReportColumns.AccountEnabled, "enabled", "Account enabled", Boolean, r => r.AccountEnabled),
            new ReportTableColumn(ReportColumns.IsLicensed, "licensed", "Licensed", Boolean, r => r.IsLicensed),
            new ReportTableColumn(ReportColumns.IsAdmin, "admin", "Admin", Boolean, r => r.IsAdmin),
            new ReportTableColumn(ReportColumns.IsMfaRegistered, "registered", "MFA registered", Boolean, r => r.IsMfaRegistered),
            new ReportTableColumn(ReportColumns.IsMfaCapable, "capable", "MFA capable", Boolean, r => r.IsMfaCapable),
            new ReportTableColumn(ReportColumns.MethodsRegistered, "methods", "Methods registered", Text, r => r.MethodsRegistered),
            new ReportTableColumn(ReportColumns.DefaultMfaMethod, "default", "Default method", Text, r => r.DefaultMfaMethod),
            new ReportTableColumn(ReportColumns.LastSignIn, "signin", "Last sign-in (UTC)", Date, r => r.LastSignIn),
            new ReportTableColumn(ReportColumns.DaysSinceLastSignIn, "signindays", "Days since sign-in", Number, r => r.DaysSinceLastSignIn),
            new ReportTableColumn(ReportColumns.LastMfaSignIn, "mfasignin", "Last MFA sign-in (UTC)", Date, r => r.LastMfaSignIn),
            new ReportTableColumn(ReportColumns.PasswordAgeDays, "pwdage", "Password age (days)", Number, r => r.PasswordAgeDays),
            new ReportTableColumn(ReportColumns.PasswordNeverExpires, "pwdnever", "Password never expires", Boolean, r => r.PasswordNeverExpires),
            new ReportTableColumn(ReportColumns.Id, "id", "Object id", Text, r => r.Id),
        };

        /// <summary>The columns some row carried, in table order.</summary>
        public static List<ReportTableColumn> Present(ReportColumns columns)
        {
            var result = new List<ReportTableColumn>();
            foreach (var column in All)
            {
                if ((columns & column.Source) != 0)
                {
                    result.Add(column);
                }
            }

            return result;
        }
    }
}
