using PerUserMfa.Engine;
using Xunit;

namespace PerUserMfa.Tests.Engine
{
    public class EngineRequestsTests
    {
        [Theory]
        [InlineData("licensedMembers", null, "{\"operation\":\"getStates\",\"scope\":\"licensedMembers\"}")]
        [InlineData("all", 40, "{\"operation\":\"getStates\",\"scope\":\"all\",\"throttleLimit\":40}")]
        [InlineData("input", 1, "{\"operation\":\"getStates\",\"scope\":\"input\",\"throttleLimit\":1}")]
        public void GetStates_requests(string scope, int? throttleLimit, string expected) =>
            Assert.Equal(expected, EngineRequests.GetStates(scope, throttleLimit));

        [Theory]
        [InlineData(PerUserMfaState.Disabled, null, "{\"operation\":\"planChanges\",\"state\":\"disabled\"}")]
        [InlineData(PerUserMfaState.Enabled, null, "{\"operation\":\"planChanges\",\"state\":\"enabled\"}")]
        [InlineData(PerUserMfaState.Enforced, 7, "{\"operation\":\"planChanges\",\"state\":\"enforced\",\"throttleLimit\":7}")]
        public void Plan_requests_use_the_lower_case_wire_state(PerUserMfaState state, int? throttleLimit, string expected) =>
            Assert.Equal(expected, EngineRequests.PlanChanges(state, throttleLimit));

        [Fact]
        public void User_ids_are_sent_exactly_as_given()
        {
            Assert.Equal(
                "{\"userIds\":[\"4a3c0000-0000-4000-8000-000000000001\",\"miriam.o'brien@contoso.com\",\"alex_fabrikam.com#EXT#@contoso.onmicrosoft.com\",\"zoë.åström@contoso.com\",\"q\\\"uote\"]}",
                EngineRequests.UserIds(new[] { "4a3c0000-0000-4000-8000-000000000001", "miriam.o'brien@contoso.com", "alex_fabrikam.com#EXT#@contoso.onmicrosoft.com", "zoë.åström@contoso.com", "q\"uote" }));
            Assert.Equal("{\"userIds\":[]}", EngineRequests.UserIds(new string[0]));
        }

        [Fact]
        public void Bulk_change_requests_follow_the_contract()
        {
            Assert.Equal("{\"operation\":\"planChanges\",\"state\":\"enabled\"}", EngineRequests.PlanChanges(PerUserMfaState.Enabled, null));
            Assert.Equal("{\"operation\":\"planChanges\",\"throttleLimit\":5}", EngineRequests.PlanChanges(null, 5));
            Assert.Equal("{\"operation\":\"planChanges\",\"journalUsers\":4277}", EngineRequests.PlanChanges(null, null, journalUsers: 4277));
            Assert.Equal("{\"operation\":\"estimateWrites\",\"writes\":300}", EngineRequests.EstimateWrites(300));
            Assert.Equal(
                "{\"operation\":\"applyChanges\",\"journalPath\":\"/j.jsonl\",\"journalOperation\":\"set\",\"requestedState\":\"disabled\"}",
                EngineRequests.ApplyChanges("/j.jsonl", EngineRequests.JournalSet, PerUserMfaState.Disabled, null, null));
            Assert.Equal(
                "{\"operation\":\"applyChanges\",\"journalPath\":\"C:\\\\u.jsonl\",\"journalOperation\":\"undo\",\"undoOf\":\"/j.jsonl\",\"throttleLimit\":9}",
                EngineRequests.ApplyChanges("C:\\u.jsonl", EngineRequests.JournalUndo, null, "/j.jsonl", 9));
            Assert.Equal("{\"operation\":\"readJournal\",\"path\":\"/j.jsonl\"}", EngineRequests.ReadJournal("/j.jsonl"));
            Assert.Equal(
                "{\"operation\":\"planChanges\",\"state\":\"disabled\",\"requireCoverage\":true}",
                EngineRequests.PlanChanges(PerUserMfaState.Disabled, null, requireCoverage: true));
            Assert.Equal(
                "{\"operation\":\"applyChanges\",\"journalPath\":\"/j.jsonl\",\"journalOperation\":\"set\",\"requestedState\":\"disabled\",\"requireCoverage\":true}",
                EngineRequests.ApplyChanges("/j.jsonl", EngineRequests.JournalSet, PerUserMfaState.Disabled, null, null, requireCoverage: true));
            Assert.Equal(
                "{\"changes\":[{\"target\":\"a\",\"id\":\"1\",\"userPrincipalName\":null,\"displayName\":null,\"previousState\":\"enforced\",\"requestedState\":\"disabled\",\"sent\":false,\"action\":\"notCovered\",\"verdict\":\"Unknown\",\"verdictReason\":\"Why.\",\"userType\":\"Guest\"}]}",
                EngineRequests.Changes(new[] { new PerUserMfa.Bulk.ChangeItem { Target = "a", Id = "1", PreviousState = "enforced", RequestedState = "disabled", Action = "notCovered", Verdict = "Unknown", VerdictReason = "Why.", UserType = "Guest" } }));
        }

        [Fact]
        public void Changes_carry_what_the_plan_decided()
        {
            var change = new PerUserMfa.Bulk.ChangeItem
            {
                Target = "a@x",
                Id = "1",
                UserPrincipalName = "a@x",
                PreviousState = "disabled",
                RequestedState = "enforced",
                Sent = true,
                Action = "completed",
                CurrentState = "enforced",
            };
            Assert.Equal(
                "{\"changes\":[{\"target\":\"a@x\",\"id\":\"1\",\"userPrincipalName\":\"a@x\",\"displayName\":null,\"previousState\":\"disabled\",\"requestedState\":\"enforced\",\"sent\":true,\"action\":\"completed\",\"currentState\":\"enforced\"}]}",
                EngineRequests.Changes(new[] { change }));
            Assert.Equal(
                "{\"changes\":[{\"target\":\"\",\"id\":\"2\",\"userPrincipalName\":null,\"displayName\":null,\"previousState\":null,\"requestedState\":\"disabled\",\"sent\":false}]}",
                EngineRequests.Changes(new[] { new PerUserMfa.Bulk.ChangeItem { Id = "2", RequestedState = "disabled" } }));
        }
    }
}
