using Microsoft.Graph.Models;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>The SDK's <c>RetryHandler</c> against the simulator's transient faults.</summary>
    public sealed class RetryTests
    {
        [Fact]
        public async Task TransientFaultsAreRetriedAndRetryAfterIsHonoured()
        {
            using var simulator = new Simulator(users: 40, seed: 3);
            using var graph = GraphClients.Create(simulator, simulator.Token(TenantFixture.Permissions));
            simulator.Configure(new { fault503 = 0.2, fault504 = 0.1 });
            var ids = simulator.Truth().Take(30).Select(u => (string)u!["id"]!).ToList();
            foreach (var id in ids)
            {
                User? user = await graph.Users[id].GetAsync(r => r.QueryParameters.Select = ["id"]);
                Assert.Equal(id, user!.Id);
            }
            var stats = simulator.Stats();
            Assert.True((long)stats["faults503"]! + (long)stats["faults504"]! > 0, stats.ToJsonString());
            Assert.Equal(0, (long)stats["sentDuringRetryAfter"]!);
        }
    }
}
