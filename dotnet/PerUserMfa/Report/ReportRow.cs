using System;
using System.Collections.Generic;

namespace PerUserMfa.Report
{
    /// <summary>The report columns an input object can carry. A column is shown when any row has it.
    /// Each is named as the input property it is read from (<see cref="ReportRowReader"/>).</summary>
    [Flags]
    internal enum ReportColumns
    {
        None = 0,
        UserPrincipalName = 1 << 0,
        DisplayName = 1 << 1,
        Id = 1 << 2,
        PerUserMfaState = 1 << 3,
        UserType = 1 << 4,
        AccountEnabled = 1 << 5,
        IsLicensed = 1 << 6,
        IsAdmin = 1 << 7,
        IsMfaRegistered = 1 << 8,
        IsMfaCapable = 1 << 9,
        MethodsRegistered = 1 << 10,
        DefaultMfaMethod = 1 << 11,
        PreferredMfaMethod = 1 << 12,
        LastSignIn = 1 << 13,
        LastSuccessfulSignIn = 1 << 14,
        DaysSinceLastSignIn = 1 << 15,
        DaysSinceLastSuccessfulSignIn = 1 << 16,
        SignInSessionsValidFrom = 1 << 17,
        PasswordLastChanged = 1 << 18,
        PasswordAgeDays = 1 << 19,
        PasswordPolicies = 1 << 20,
        PasswordNeverExpires = 1 << 21,
        LastMfaSignIn = 1 << 22,
        DaysSinceLastMfaSignIn = 1 << 23,
        AuthenticationMethods = 1 << 24,

        // Test-PerUserMfaMigration's columns (PerUserMfa.MigrationCheck).
        Verdict = 1 << 25,
        CoveredBy = 1 << 26,
        ReportOnly = 1 << 27,
        Gaps = 1 << 28,
        Reason = 1 << 29,

        /// <summary>The columns a migration check adds to a user.</summary>
        MigrationCheck = Verdict | CoveredBy | ReportOnly | Gaps | Reason,
    }

    /// <summary>
    /// One user in the HTML report: the properties of a <c>PerUserMfa.UserState</c>,
    /// <c>PerUserMfa.UserReport</c> or <c>PerUserMfa.MigrationCheck</c> (or both of the last two, joined
    /// by id), each null when the input did not carry it (or carried no value).
    /// <see cref="Columns"/> says which properties the input had, so a column is shown only when some
    /// input carried it (a plain UserState report has no empty detail columns).
    /// </summary>
    internal sealed class ReportRow
    {
        public ReportColumns Columns { get; set; }

        public string? UserPrincipalName { get; set; }
        public string? DisplayName { get; set; }
        public string? Id { get; set; }

        /// <summary>Disabled, Enabled or Enforced (any case); anything else is reported as it is.</summary>
        public string? PerUserMfaState { get; set; }

        public string? UserType { get; set; }
        public bool? AccountEnabled { get; set; }
        public bool? IsLicensed { get; set; }
        public bool? IsAdmin { get; set; }
        public bool? IsMfaRegistered { get; set; }
        public bool? IsMfaCapable { get; set; }
        public string? MethodsRegistered { get; set; }
        public string? DefaultMfaMethod { get; set; }
        public string? PreferredMfaMethod { get; set; }
        public DateTime? LastSignIn { get; set; }
        public DateTime? LastSuccessfulSignIn { get; set; }
        public int? DaysSinceLastSignIn { get; set; }
        public int? DaysSinceLastSuccessfulSignIn { get; set; }
        public DateTime? SignInSessionsValidFrom { get; set; }
        public DateTime? PasswordLastChanged { get; set; }
        public int? PasswordAgeDays { get; set; }
        public string? PasswordPolicies { get; set; }
        public bool? PasswordNeverExpires { get; set; }
        public DateTime? LastMfaSignIn { get; set; }
        public int? DaysSinceLastMfaSignIn { get; set; }
        public string? AuthenticationMethods { get; set; }

        /// <summary>Covered, PartiallyCovered, NotCovered or Unknown (Test-PerUserMfaMigration); null: not tested.</summary>
        public string? Verdict { get; set; }
        public IReadOnlyList<string> CoveredBy { get; set; } = Array.Empty<string>();
        public IReadOnlyList<string> ReportOnly { get; set; } = Array.Empty<string>();
        public IReadOnlyList<string> Gaps { get; set; } = Array.Empty<string>();
        public string? Reason { get; set; }

        /// <summary>The row carries a migration check: the input was one (it had a Verdict property), or one was joined to it.</summary>
        public bool HasVerdict => Has(ReportColumns.Verdict);

        /// <summary>Adds <paramref name="check"/>'s verdict, policies, gaps and reason to this user.</summary>
        public void TakeMigrationCheck(ReportRow check)
        {
            Verdict = check.Verdict;
            CoveredBy = check.CoveredBy;
            ReportOnly = check.ReportOnly;
            Gaps = check.Gaps;
            Reason = check.Reason;
            Columns |= check.Columns & ReportColumns.MigrationCheck;
        }

        public bool Has(ReportColumns column) => (Columns & column) != 0;

        /// <summary>The state as the report shows it: Disabled, Enabled, Enforced, the input's own text, or Unknown.</summary>
        public string StateText => ReportValue.NormalizeState(PerUserMfaState);

        /// <summary>Per-user MFA is Enabled or Enforced: the accounts to move to Conditional Access (highlighted).</summary>
        public bool IsOnPerUserMfa
        {
            get
            {
                var state = StateText;
                return state == "Enabled" || state == "Enforced";
            }
        }

        /// <summary>True: no MFA method registered; false: registered; null: not known. IsMfaRegistered when
        /// given, else an empty MethodsRegistered.</summary>
        public bool? HasNoMfaMethod
        {
            get
            {
                if (IsMfaRegistered.HasValue)
                {
                    return !IsMfaRegistered.Value;
                }

                if (Has(ReportColumns.MethodsRegistered))
                {
                    return string.IsNullOrWhiteSpace(MethodsRegistered);
                }

                return null;
            }
        }

        /// <summary>"Display Name (upn)", or whichever of the two (or the id) is known.</summary>
        public string Label
        {
            get
            {
                var name = string.IsNullOrEmpty(DisplayName) ? null : DisplayName;
                var upn = string.IsNullOrEmpty(UserPrincipalName) ? null : UserPrincipalName;
                if (name != null && upn != null)
                {
                    return name + " (" + upn + ")";
                }

                return name ?? upn ?? Id ?? "(unnamed user)";
            }
        }
    }
}
