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
            row.UserPrincipalName = Text(properties, "UserPrincipalName", ReportColumns.UserPrincipalName, row);
            row.DisplayName = Text(properties, "DisplayName", ReportColumns.DisplayName, row);
            row.Id = Text(properties, "Id", ReportColumns.Id, row);
            if (row.Columns == ReportColumns.None)
            {
                return null;
            }

            row.PerUserMfaState = Text(properties, "PerUserMfaState", ReportColumns.PerUserMfaState, row);
            row.UserType = Text(properties, "UserType", ReportColumns.UserType, row);
            row.AccountEnabled = ReportValue.ToBoolean(Get(properties, "AccountEnabled", ReportColumns.AccountEnabled, row));
            row.IsLicensed = ReportValue.ToBoolean(Get(properties, "IsLicensed", ReportColumns.IsLicensed, row));
            row.IsAdmin = ReportValue.ToBoolean(Get(properties, "IsAdmin", ReportColumns.IsAdmin, row));
            row.IsMfaRegistered = ReportValue.ToBoolean(Get(properties, "IsMfaRegistered", ReportColumns.IsMfaRegistered, row));
            row.IsMfaCapable = ReportValue.ToBoolean(Get(properties, "IsMfaCapable", ReportColumns.IsMfaCapable, row));
            row.MethodsRegistered = Text(properties, "MethodsRegistered", ReportColumns.MethodsRegistered, row);
            row.DefaultMfaMethod = Text(properties, "DefaultMfaMethod", ReportColumns.DefaultMfaMethod, row);
            row.PreferredMfaMethod = Text(properties, "PreferredMfaMethod", ReportColumns.PreferredMfaMethod, row);
            row.LastSignIn = ReportValue.ToUtcDateTime(Get(properties, "LastSignIn", ReportColumns.LastSignIn, row));
            row.LastSuccessfulSignIn = ReportValue.ToUtcDateTime(Get(properties, "LastSuccessfulSignIn", ReportColumns.LastSuccessfulSignIn, row));
            row.DaysSinceLastSignIn = ReportValue.ToInt32(Get(properties, "DaysSinceLastSignIn", ReportColumns.DaysSinceLastSignIn, row));
            row.DaysSinceLastSuccessfulSignIn = ReportValue.ToInt32(Get(properties, "DaysSinceLastSuccessfulSignIn", ReportColumns.DaysSinceLastSuccessfulSignIn, row));
            row.SignInSessionsValidFrom = ReportValue.ToUtcDateTime(Get(properties, "SignInSessionsValidFrom", ReportColumns.SignInSessionsValidFrom, row));
            row.PasswordLastChanged = ReportValue.ToUtcDateTime(Get(properties, "PasswordLastChanged", ReportColumns.PasswordLastChanged, row));
            row.PasswordAgeDays = ReportValue.ToInt32(Get(properties, "PasswordAgeDays", ReportColumns.PasswordAgeDays, row));
            row.PasswordPolicies = Text(properties, "PasswordPolicies", ReportColumns.PasswordPolicies, row);
            row.PasswordNeverExpires = ReportValue.ToBoolean(Get(properties, "PasswordNeverExpires", ReportColumns.PasswordNeverExpires, row));
            row.LastMfaSignIn = ReportValue.ToUtcDateTime(Get(properties, "LastMfaSignIn", ReportColumns.LastMfaSignIn, row));
            row.DaysSinceLastMfaSignIn = ReportValue.ToInt32(Get(properties, "DaysSinceLastMfaSignIn", ReportColumns.DaysSinceLastMfaSignIn, row));
            row.AuthenticationMethods = Text(properties, "AuthenticationMethods", ReportColumns.AuthenticationMethods, row);
            return row;
        }

        private static string? Text(PSMemberInfoCollection<PSPropertyInfo> properties, string name, ReportColumns column, ReportRow row) =>
            ReportValue.ToText(Get(properties, name, column, row));

        private static object? Get(PSMemberInfoCollection<PSPropertyInfo> properties, string name, ReportColumns column, ReportRow row)
        {
            var property = properties[name];
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
