using System;
using System.Management.Automation;
using PerUserMfa.Output;
using PerUserMfa.Report;
using Xunit;

namespace PerUserMfa.Tests.Report
{
    public sealed class ReportRowReaderTests
    {
        private static PSObject Object(params (string Name, object? Value)[] properties)
        {
            var result = new PSObject();
            foreach (var (name, value) in properties)
            {
                result.Properties.Add(new PSNoteProperty(name, value));
            }

            return result;
        }

        [Fact]
        public void Reads_a_UserState_and_leaves_detail_columns_absent()
        {
            var row = ReportRowReader.Read(Object(("UserPrincipalName", "a@contoso.com"), ("DisplayName", "A"), ("Id", "1"), ("PerUserMfaState", "Enforced")))!;
            Assert.Equal("a@contoso.com", row.UserPrincipalName);
            Assert.True(row.IsOnPerUserMfa);
            Assert.False(row.Has(ReportColumns.IsAdmin));
            Assert.False(row.Has(ReportColumns.LastMfaSignIn));
            Assert.Null(row.HasNoMfaMethod);
        }

        [Fact]
        public void Unwraps_the_dates_UserReportFactory_writes_and_keeps_null_columns_present()
        {
            var row = ReportRowReader.Read(Object(
                ("UserPrincipalName", "a@contoso.com"),
                ("IsAdmin", true),
                ("IsMfaRegistered", false),
                ("LastSignIn", UserReportFactory.Date("2026-11-01T10:00:00Z")),
                ("PasswordAgeDays", 400),
                ("LastMfaSignIn", null)))!;
            Assert.Equal(new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), row.LastSignIn);
            Assert.Equal(DateTimeKind.Utc, row.LastSignIn!.Value.Kind);
            Assert.True(row.IsAdmin);
            Assert.True(row.HasNoMfaMethod);
            Assert.Equal(400, row.PasswordAgeDays);
            Assert.True(row.Has(ReportColumns.LastMfaSignIn));
            Assert.Null(row.LastMfaSignIn);
        }

        [Fact]
        public void Reads_Import_Csv_strings()
        {
            var row = ReportRowReader.Read(Object(
                ("UserPrincipalName", "a@contoso.com"), ("PerUserMfaState", "enabled"), ("IsAdmin", "True"), ("IsMfaRegistered", "False"),
                ("PasswordAgeDays", "12"), ("LastMfaSignIn", ""), ("LastSignIn", "2026-11-01T10:00:00Z")))!;
            Assert.Equal("Enabled", row.StateText);
            Assert.True(row.IsAdmin);
            Assert.False(row.IsMfaRegistered);
            Assert.Equal(12, row.PasswordAgeDays);
            Assert.True(row.Has(ReportColumns.LastMfaSignIn));
            Assert.Null(row.LastMfaSignIn);
            Assert.Equal(new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), row.LastSignIn);
        }

        [Fact]
        public void An_object_naming_no_user_is_refused()
        {
            Assert.Null(ReportRowReader.Read(PSObject.AsPSObject("just a string")));
            Assert.Null(ReportRowReader.Read(Object(("PerUserMfaState", "Enabled"))));
        }
    }
}
