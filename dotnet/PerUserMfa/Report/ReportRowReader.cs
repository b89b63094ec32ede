using System;
using System.Management.Automation;

namespace PerUserMfa.Report
{
    /// <summary>
    /// A pipeline object → a <see cref="ReportRow"/>, by property name and tolerantly: a missing property
    /// leaves the column absent, a value of another type (Import-Csv's strings) is converted, an
    /// unreadable value is empty. Dates may come wrapped in a PSObject (UserReportFactory); they are unwrapped.
    /// </summary>
    internal static class ReportRowReader
    {
        /// <summary>The row, or null when the object names no user (no UPN, display name or id property).</summary>
        public static ReportRow? Read(PSObject input)
        {
            var row = new ReportRow();
            var properties = input.Properties;

            // Each column is read from the input property of its name; one that is there marks the column present.
            T ReadColumn<T>(ReportColumns column, Func<object?, T> convert) => convert(Get(properties, column, row));

            row.UserPrincipalName = ReadColumn(ReportColumns.UserPrincipalName, ReportValue.ToText);
            row.DisplayName = ReadColumn(ReportColumns.DisplayName, ReportValue.ToText);
            row.Id = ReadColumn(ReportColumns.Id, ReportValue.ToText);
            if (row.Columns == ReportColumns.None)
            {
                return null;
            }

            row.PerUserMfaState = ReadColumn(ReportColumns.PerUserMfaState, ReportValue.ToText);
            row.UserType = ReadColumn(ReportColumns.UserType, ReportValue.ToText);
            row.AccountEnabled = ReadColumn(ReportColumns.AccountEnabled, ReportValue.ToBoolean);
            row.IsLicensed = ReadColumn(ReportColumns.IsLicensed, ReportValue.ToBoolean);
            row.IsAdmin = ReadColumn(ReportColumns.IsAdmin, ReportValue.ToBoolean);
            row.IsMfaRegistered = ReadColumn(ReportColumns.IsMfaRegistered, ReportValue.ToBoolean);
            row.IsMfaCapable = ReadColumn(ReportColumns.IsMfaCapable, ReportValue.ToBoolean);
            row.MethodsRegistered = ReadColumn(ReportColumns.MethodsRegistered, ReportValue.ToText);
            row.DefaultMfaMethod = ReadColumn(ReportColumns.DefaultMfaMethod, ReportValue.ToText);
            row.PreferredMfaMethod = ReadColumn(ReportColumns.PreferredMfaMethod, ReportValue.ToText);
            row.LastSignIn = ReadColumn(ReportColumns.LastSignIn, ReportValue.ToUtcDateTime);
            row.LastSuccessfulSignIn = ReadColumn(ReportColumns.LastSuccessfulSignIn, ReportValue.ToUtcDateTime);
            row.DaysSinceLastSignIn = ReadColumn(ReportColumns.DaysSinceLastSignIn, ReportValue.ToInt32);
            row.DaysSinceLastSuccessfulSignIn = ReadColumn(ReportColumns.DaysSinceLastSuccessfulSignIn, ReportValue.ToInt32);
            row.SignInSessionsValidFrom = ReadColumn(ReportColumns.SignInSessionsValidFrom, ReportValue.ToUtcDateTime);
            row.PasswordLastChanged = ReadColumn(ReportColumns.PasswordLastChanged, ReportValue.ToUtcDateTime);
            row.PasswordAgeDays = ReadColumn(ReportColumns.PasswordAgeDays, ReportValue.ToInt32);
            row.PasswordPolicies = ReadColumn(ReportColumns.PasswordPolicies, ReportValue.ToText);
            row.PasswordNeverExpires = ReadColumn(ReportColumns.PasswordNeverExpires, ReportValue.ToBoolean);
            row.LastMfaSignIn = ReadColumn(ReportColumns.LastMfaSignIn, ReportValue.ToUtcDateTime);
            row.DaysSinceLastMfaSignIn = ReadColumn(ReportColumns.DaysSinceLastMfaSignIn, ReportValue.ToInt32);
            row.AuthenticationMethods = ReadColumn(ReportColumns.AuthenticationMethods, ReportValue.ToText);
            row.Verdict = ReadColumn(ReportColumns.Verdict, ReportValue.ToText);
            row.CoveredBy = ReadColumn(ReportColumns.CoveredBy, ReportValue.ToList);
            row.ReportOnly = ReadColumn(ReportColumns.ReportOnly, ReportValue.ToList);
            row.Gaps = ReadColumn(ReportColumns.Gaps, ReportValue.ToList);
            row.Reason = ReadColumn(ReportColumns.Reason, ReportValue.ToText);
            return row;
        }

        private static object? Get(PSMemberInfoCollection<PSPropertyInfo> properties, ReportColumns column, ReportRow row)
        {
            var property = properties[column.ToString()];
            if (property == null)
            {
                return null;
            }

            row.Columns |= column;
            object? value;
            try
            {
                value = property.Value;
            }
            catch (Exception e) when (e is GetValueException || e is ExtendedTypeSystemException)
            {
                return null;
            }

            while (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }

            return value;
        }
    }
}
