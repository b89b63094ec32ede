using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Graph;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>
    /// A simulated tenant with every permission the module asks for, Microsoft's client for it, and a
    /// plain HTTP client that reads the same URLs raw (what the simulator sent, to compare with what
    /// the SDK read).
    /// </summary>
    public sealed class TenantFixture : IDisposable
    {
        /// <summary>The application permissions of the module's detailed report.</summary>
        public static readonly string[] Permissions =
        [
            "User.Read.All", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All",
        ];

        public TenantFixture()
        {
            // More than two pages of 999 users, and enough sign-ins for several pages of 1,000.
            Simulator = new Simulator(users: 2300, seed: 11);
            Token = Simulator.Token(Permissions);
            Graph = GraphClients.Create(Simulator, Token);
            Raw = new HttpClient { BaseAddress = new Uri(Simulator.Url) };
            Raw.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            Truth = Simulator.Truth();
        }

        public Simulator Simulator { get; }

        public string Token { get; }

        public GraphServiceClient Graph { get; }

        public HttpClient Raw { get; }

        public JsonArray Truth { get; }

        /// <summary>Every page of a collection, raw, following <c>@odata.nextLink</c>.</summary>
        public async Task<List<string>> RawPagesAsync(string firstUrl, bool eventual = false)
        {
            var pages = new List<string>();
            string? next = firstUrl;
            while (next is not null)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, next);
                if (eventual)
                {
                    request.Headers.Add("ConsistencyLevel", "eventual");
                }
                using var answer = await Raw.SendAsync(request);
                var body = await answer.Content.ReadAsStringAsync();
                Assert.True(answer.IsSuccessStatusCode, $"{next}: {(int)answer.StatusCode} {body}");
                pages.Add(body);
                next = JsonNode.Parse(body)!["@odata.nextLink"]?.GetValue<string>();
            }
            return pages;
        }

        public void Dispose()
        {
            Raw.Dispose();
            Graph.Dispose();
            Simulator.Dispose();
        }
    }
}
