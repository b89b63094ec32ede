using System.Linq;
using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;
using Xunit;

namespace PerUserMfa.Tests.Output
{
    public class OutputFactoryTests
    {
        [Fact]
        public void UserState_has_the_contract_type_name_and_properties_in_order()
        {
            var e = EngineEvent.Parse(@"{""type"":""userState"",""target"":""adele.vance@contoso.com"",""id"":""00000000-0000-4000-8000-000000000001"",""userPrincipalName"":""adele.vance@contoso.com"",""displayName"":""Adele Vance"",""perUserMfaState"":""enforced""}");
            var o = OutputFactory.CreateUserState(UserStateEvent.From(e));

            Assert.Equal("PerUserMfa.UserState", o.TypeNames[0]);
            Assert.Equal(new[] { "UserPrincipalName", "DisplayName", "Id", "PerUserMfaState" }, o.Properties.Select(p => p.Name).ToArray());
            Assert.Equal("adele.vance@contoso.com", o.Properties["UserPrincipalName"].Value);
            Assert.Equal("Adele Vance", o.Properties["DisplayName"].Value);
            Assert.Equal("00000000-0000-4000-8000-000000000001", o.Properties["Id"].Value);
            Assert.Equal("Enforced", o.Properties["PerUserMfaState"].Value);
            Assert.All(o.Properties, p => Assert.IsType<PSNoteProperty>(p));
        }

        [Fact]
        public void UserState_keeps_missing_names_as_null()
        {
            var o = OutputFactory.CreateUserState(UserStateEvent.From(EngineEvent.Parse(@"{""type"":""userState"",""id"":""x"",""userPrincipalName"":null,""perUserMfaState"":""disabled""}")));
            Assert.Null(o.Properties["UserPrincipalName"].Value);
            Assert.Null(o.Properties["DisplayName"].Value);
            Assert.Equal("Disabled", o.Properties["PerUserMfaState"].Value);
        }

        [Theory]
        [InlineData("disabled", "Disabled")]
        [InlineData("enabled", "Enabled")]
        [InlineData("enforced", "Enforced")]
        [InlineData("ENFORCED", "Enforced")]
        [InlineData("unknownFutureValue", "unknownFutureValue")]
        [InlineData("", "")]
        [InlineData(null, null)]
        public void States_are_capitalised_and_unknown_values_pass_through(string? wire, string? shown) =>
            Assert.Equal(shown, StateText.ToDisplay(wire));

        [Fact]
        public void ChangeResult_has_the_contract_type_name_and_properties_in_order()
        {
            var e = EngineEvent.Parse(@"{""type"":""changeResult"",""target"":""diego.siciliani@contoso.com"",""id"":""i"",""userPrincipalName"":""diego.siciliani@contoso.com"",""displayName"":""Diego"",""previousState"":""disabled"",""state"":""enforced"",""requestedState"":""enabled"",""changed"":true}");
            var o = OutputFactory.CreateChangeResult(ChangeResultEvent.From(e));

            Assert.Equal("PerUserMfa.ChangeResult", o.TypeNames[0]);
            Assert.Equal(
                new[] { "UserPrincipalName", "DisplayName", "Id", "PreviousState", "RequestedState", "State", "Changed" },
                o.Properties.Select(p => p.Name).ToArray());
            Assert.Equal("Disabled", o.Properties["PreviousState"].Value);
            Assert.Equal("Enabled", o.Properties["RequestedState"].Value);
            Assert.Equal("Enforced", o.Properties["State"].Value);
            Assert.True(Assert.IsType<bool>(o.Properties["Changed"].Value));
        }

        [Theory]
        [InlineData(@"""changed"":false,""previousState"":""disabled"",""state"":""enforced""", false)]
        [InlineData(@"""previousState"":""disabled"",""state"":""enforced""", true)]
        [InlineData(@"""previousState"":""enforced"",""state"":""enforced""", false)]
        public void Changed_is_the_engines_value_or_else_computed(string fields, bool expected)
        {
            var o = OutputFactory.CreateChangeResult(ChangeResultEvent.From(EngineEvent.Parse("{\"type\":\"changeResult\"," + fields + "}")));
            Assert.Equal(expected, o.Properties["Changed"].Value);
        }
    }
}
