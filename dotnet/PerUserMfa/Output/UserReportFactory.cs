using System;
using System.Globalization;
using System.Management.Automation;
using PerUserMfa.Engine;

namespace PerUserMfa.Output
{
    /// <summary>
    /// <c>userReport</c> → a <c>PerUserMfa.UserReport</c> (Get-PerUserMfaState -Detailed). Property names and
    /// order are a public contract: UserPrincipalName, DisplayName, Id, PerUserMfaState, then the report
    /// columns; LastMfaSignIn and DaysSinceLastMfaSignIn only with -IncludeMfaSignIns, AuthenticationMethods only
    /// with -IncludeMethodDetails. A column whose source Graph refused is null.
    /// </summary>
    /// <remarks>
    /// Dates are <see cref="DateTime"/> values of kind Utc, each wrapped in a <see cref="PSObject"/> whose
    /// ToString is ISO 8601 (<c>2026-11-01T10:00:00Z</c>): PowerShell sees a [datetime] (<c>-is [datetime]</c>,
    /// comparisons, <c>.AddDays()</c>), while Export-Csv, Format-Table and string expansion write ISO 8601
    /// instead of the culture's format. C# consumers read the DateTime from <see cref="PSObject.BaseObject"/>.
    /// </remarks>
    internal static class UserReportFactory
    {
        public const string TypeName = "PerUserMfa.UserReport";

        public static PSObject Create(EngineEvent e)
        {
            var result = new PSObject();
            result.TypeNames.Insert(0, TypeName);
            Add(result, "UserPrincipalName", e.GetString("userPrincipalName"));
            Add(result, "DisplayName", e.GetString("displayName"));
            Add(result, "Id", e.GetString("id"));
            Add(result, "PerUserMfaState", StateText.ToDisplay(e.GetString("perUserMfaState")));
            Add(result, "UserType", e.GetString("userType"));
            Add(result, "AccountEnabled", e.GetBoolean("accountEnabled"));
            Add(result, "IsLicensed", e.GetBoolean("isLicensed"));
            Add(result, "IsAdmin", e.GetBoolean("isAdmin"));
            Add(result, "IsMfaRegistered", e.GetBoolean("isMfaRegistered"));
            Add(result, "IsMfaCapable", e.GetBoolean("isMfaCapable"));
            Add(result, "MethodsRegistered", e.GetString("methodsRegistered"));
            Add(result, "DefaultMfaMethod", e.GetString("defaultMfaMethod"));
            Add(result, "PreferredMfaMethod", e.GetString("preferredMfaMethod"));
            Add(result, "LastSignIn", Date(e.GetString("lastSignIn")));
            Add(result, "LastSuccessfulSignIn", Date(e.GetString("lastSuccessfulSignIn")));
            Add(result, "DaysSinceLastSignIn", Days(e.GetInt64("daysSinceLastSignIn")));
            Add(result, "DaysSinceLastSuccessfulSignIn", Days(e.GetInt64("daysSinceLastSuccessfulSignIn")));
            Add(result, "SignInSessionsValidFrom", Date(e.GetString("signInSessionsValidFrom")));
            Add(result, "PasswordLastChanged", Date(e.GetString("passwordLastChanged")));
            Add(result, "PasswordAgeDays", Days(e.GetInt64("passwordAgeDays")));
            Add(result, "PasswordPolicies", e.GetString("passwordPolicies"));
            Add(result, "PasswordNeverExpires", e.GetBoolean("passwordNeverExpires"));
            if (e.Fields.ContainsKey("lastMfaSignIn"))
            {
                Add(result, "LastMfaSignIn", Date(e.GetString("lastMfaSignIn")));
                Add(result, "DaysSinceLastMfaSignIn", Days(e.GetInt64("daysSinceLastMfaSignIn")));
            }

            if (e.Fields.ContainsKey("authenticationMethods"))
            {
                Add(result, "AuthenticationMethods", e.GetString("authenticationMethods"));
            }

            return result;
        }

        /// <summary>An ISO 8601 UTC text from the engine as a UTC DateTime whose ToString is ISO 8601; null stays null.</summary>
        public static PSObject? Date(string? iso)
        {
            if (string.IsNullOrEmpty(iso) ||
                !DateTime.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var value))
            {
                return null;
            }

            var wrapped = new PSObject(DateTime.SpecifyKind(value, DateTimeKind.Utc));
            wrapped.Methods.Add(new PSCodeMethod("ToString", typeof(UtcDateText).GetMethod(nameof(UtcDateText.ToIso8601))));
            return wrapped;
        }

        private static int? Days(long? days) => days.HasValue ? (int)Math.Min(days.Value, int.MaxValue) : (int?)null;

        private static void Add(PSObject target, string name, object? value) =>
            target.Properties.Add(new PSNoteProperty(name, value));
    }

    /// <summary>The ToString of report dates (a PSCodeMethod target, so public).</summary>
    public static class UtcDateText
    {
        /// <summary><c>2026-11-01T10:00:00Z</c> for ToString() and any call without a format;
        /// ToString(format[, provider]) formats the DateTime as .NET would.</summary>
        public static string ToIso8601(PSObject instance, params object[] arguments)
        {
            if (!(instance?.BaseObject is DateTime value))
            {
                return instance?.BaseObject?.ToString() ?? string.Empty;
            }

            string? format = null;
            IFormatProvider? provider = null;
            foreach (var argument in arguments ?? Array.Empty<object>())
            {
                var item = argument is PSObject wrapped ? wrapped.BaseObject : argument;
                if (item is string text)
                {
                    format = text;
                }
                else if (item is IFormatProvider formatProvider)
                {
                    provider = formatProvider;
                }
            }

            return string.IsNullOrEmpty(format)
                ? value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
                : value.ToString(format, provider ?? CultureInfo.CurrentCulture);
        }
    }
}
