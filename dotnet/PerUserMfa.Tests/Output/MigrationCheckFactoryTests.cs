using System.Linq;
using PerUserMfa.Engine;
using PerUserMfa.Output;
using Xunit;

namespace PerUserMfa.Tests.Output
{
    public class MigrationCheckFactoryTests
    {
        [Fact]
        public void List_columns_are_lists_whose_text_is_the_items_joined()
        {
            var e = EngineEvent.Parse(@"{""type"":""migrationCheck"",""id"":""1"",""userPrincipalName"":""adele.vance@contoso.com"",""perUserMfaState"":""enforced"",""verdict"":""PartiallyCovered"",""coveredBy"":[""MFA for Office"",""MFA in the browser""],""reportOnly"":[],""gaps"":[""'MFA for Office' covers only Office 365""],""reason"":""r""}");
            var o = MigrationCheckFactory.Create(MigrationCheckEvent.From(e));

            var coveredBy = Assert.IsType<TextList>(o.Properties["CoveredBy"].Value);
            Assert.Equal(new[] { "MFA for Office", "MFA in the browser" }, coveredBy.ToArray());
            Assert.Equal("MFA for Office; MFA in the browser", coveredBy.ToString());
            var reportOnly = Assert.IsType<TextList>(o.Properties["ReportOnly"].Value);
            Assert.Empty(reportOnly);
            Assert.Equal(string.Empty, reportOnly.ToString());
            Assert.Equal("'MFA for Office' covers only Office 365", o.Properties["Gaps"].Value.ToString());
            Assert.Null(o.Properties["WhatIf"]);
        }
    }
}
