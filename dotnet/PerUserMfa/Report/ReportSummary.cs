using System;
using System.Collections.Generic;
using System.Globalization;

namespace PerUserMfa.Report
{
    /// <summary>
    /// The totals at the top of the report, counted over all rows. A part whose data no row carried
    /// (admin flag, MFA registration, MFA sign-ins, password age) is marked absent and not shown.
    /// </summary>
    internal sealed class ReportSummary
    {
        /// <summary>The three states in display order; other values found in the input follow them.</summary>
        public static readonly string[] KnownStates = { "Disabled", "Enabled", "Enforced" };

        private readonly Dictionary<string, int> _stateCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly List<string> _stateOrder = new List<string>(KnownStates);

        public ReportSummary(int passwordAgeThresholdDays)
        {
            PasswordAgeThresholdDays = passwordAgeThresholdDays;
            foreach (var state in KnownStates)
            {
                _stateCounts[state] = 0;
            }
        }

        public int PasswordAgeThresholdDays { get; }

        public int Total { get; private set; }

        /// <summary>Union of the columns the rows carried.</summary>
        public ReportColumns Columns { get; private set; }

        /// <summary>Per-user MFA Enabled or Enforced, in input order.</summary>
        public List<ReportRow> OnPerUserMfa { get; } = new List<ReportRow>();

        public bool HasAdminData => (Columns & ReportColumns.IsAdmin) != 0;
        public int Admins { get; private set; }

        public bool HasRegistrationData => (Columns & (ReportColumns.IsMfaRegistered | ReportColumns.MethodsRegistered)) != 0;
        public int MfaRegistered { get; private set; }
        public int MfaNotRegistered { get; private set; }
        public int MfaRegistrationUnknown { get; private set; }

        /// <summary>Accounts with no MFA method registered, and the admins among them.</summary>
        public List<ReportRow> NoMfaMethod { get; } = new List<ReportRow>();
        public List<ReportRow> AdminsNoMfaMethod { get; } = new List<ReportRow>();

        public bool HasMfaSignInData => (Columns & ReportColumns.LastMfaSignIn) != 0;
        /// <summary>Rows that carried LastMfaSignIn with no value: no MFA sign-in in the searched window.</summary>
        public List<ReportRow> NoMfaSignIn { get; } = new List<ReportRow>();

        public bool HasPasswordAgeData => (Columns & (ReportColumns.PasswordAgeDays | ReportColumns.PasswordLastChanged)) != 0;
        /// <summary>Passwords older than <see cref="PasswordAgeThresholdDays"/>.</summary>
        public List<ReportRow> OldPasswords { get; } = new List<ReportRow>();

        /// <summary>The states found, Disabled/Enabled/Enforced first, with their counts.</summary>
        public IEnumerable<KeyValuePair<string, int>> StateCounts
        {
            get
            {
                foreach (var state in _stateOrder)
                {
                    yield return new KeyValuePair<string, int>(state, _stateCounts[state]);
                }
            }
        }

        public int CountOf(string state) => _stateCounts.TryGetValue(state, out var count) ? count : 0;

        public static ReportSummary Build(IEnumerable<ReportRow> rows, int passwordAgeThresholdDays, DateTime nowUtc)
        {
            var summary = new ReportSummary(passwordAgeThresholdDays);
            foreach (var row in rows)
            {
                summary.Add(row, nowUtc);
            }

            return summary;
        }

        public void Add(ReportRow row, DateTime nowUtc)
        {
            Total++;
            Columns |= row.Columns;

            var state = row.StateText;
            if (!_stateCounts.ContainsKey(state))
            {
                _stateCounts[state] = 0;
                _stateOrder.Add(state);
            }

            _stateCounts[state]++;
            if (row.IsOnPerUserMfa)
            {
                OnPerUserMfa.Add(row);
            }

            var isAdmin = row.IsAdmin == true;
            if (isAdmin)
            {
                Admins++;
            }

            switch (row.HasNoMfaMethod)
            {
                case true:
                    MfaNotRegistered++;
                    NoMfaMethod.Add(row);
                    if (isAdmin)
                    {
                        AdminsNoMfaMethod.Add(row);
                    }

                    break;
                case false:
                    MfaRegistered++;
                    break;
                default:
                    MfaRegistrationUnknown++;
                    break;
            }

            if (row.Has(ReportColumns.LastMfaSignIn) && !row.LastMfaSignIn.HasValue)
            {
                NoMfaSignIn.Add(row);
            }

            var passwordAge = PasswordAge(row, nowUtc);
            if (passwordAge.HasValue && passwordAge.Value > PasswordAgeThresholdDays)
            {
                OldPasswords.Add(row);
            }
        }

        /// <summary>PasswordAgeDays, else whole days since PasswordLastChanged.</summary>
        public static int? PasswordAge(ReportRow row, DateTime nowUtc)
        {
            if (row.PasswordAgeDays.HasValue)
            {
                return row.PasswordAgeDays;
            }

            if (row.PasswordLastChanged.HasValue)
            {
                return (int)Math.Floor((nowUtc - row.PasswordLastChanged.Value).TotalDays);
            }

            return null;
        }

        /// <summary>A share of the total as "12.3%" (0 users → "0%").</summary>
        public string Share(int count) => FormatShare(count, Total);

        public static string FormatShare(int count, int total)
        {
            if (total <= 0)
            {
                return "0%";
            }

            var percent = 100.0 * count / total;
            return percent.ToString(percent == Math.Floor(percent) ? "0" : "0.0", CultureInfo.InvariantCulture) + "%";
        }
    }
}
