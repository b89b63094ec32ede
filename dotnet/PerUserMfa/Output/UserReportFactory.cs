using System;
using System.Globalization;
using System.Management.Automation;
using PerUserMfa.Engine;
using static PerUserMfa.Output.OutputFactory;

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

        public static PSObject Create(UserReportEvent e)
        {
            var result = NewUser(TypeName, e, e.PerUserMfaState);
            Add(result, "UserType", e.UserType);
            Add(result, "AccountEnabled", e.AccountEnabled);
            Add(result, "IsLicensed", e.IsLicensed);
            Add(result, "IsAdmin", e.IsAdmin);
            Add(result, "IsMfaRegistered", e.IsMfaRegistered);
            Add(result, "IsMfaCapable", e.IsMfaCapable);
            Add(result, "MethodsRegistered", e.MethodsRegistered);
            Add(result, "DefaultMfaMethod", e.DefaultMfaMethod);
            Add(result, "PreferredMfaMethod", e.PreferredMfaMethod);
            Add(result, "LastSignIn", Date(e.LastSignIn));
            Add(result, "LastSuccessfulSignIn", Date(e.LastSuccessfulSignIn));
            Add(result, "DaysSinceLastSignIn", Days(e.DaysSinceLastSignIn));
            Add(result, "DaysSinceLastSuccessfulSignIn", Days(e.DaysSinceLastSuccessfulSignIn));
            Add(result, "SignInSessionsValidFrom", Date(e.SignInSessionsValidFrom));
            Add(result, "PasswordLastChanged", Date(e.PasswordLastChanged));
            Add(result, "PasswordAgeDays", Days(e.PasswordAgeDays));
            Add(result, "PasswordPolicies", e.PasswordPolicies);
            Add(result, "PasswordNeverExpires", e.PasswordNeverExpires);
            if (e.HasMfaSignIns)
            {
                Add(result, "LastMfaSignIn", Date(e.LastMfaSignIn));
                Add(result, "DaysSinceLastMfaSignIn", Days(e.DaysSinceLastMfaSignIn));
            }

            if (e.HasAuthenticationMethods)
            {
                Add(result, "AuthenticationMethods", e.AuthenticationMethods);
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
