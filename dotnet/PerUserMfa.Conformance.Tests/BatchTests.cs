using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Kiota.Abstractions.Serialization;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary><c>$batch</c> on v1.0 as the module sends it: one methods GET per user, 20 to an envelope.</summary>
    public sealed class BatchTests(TenantFixture tenant) : IClassFixture<TenantFixture>
    {
        [Fact]
        public async Task MethodsOfManyUsersComeBackThroughBatches()
        {
            var users = tenant.Truth.Skip(8).Take(45).ToList();
            var batch = new BatchRequestContentCollection(tenant.Graph);
            var steps = new Dictionary<string, JsonNode>();
            foreach (var user in users)
            {
                var request = tenant.Graph.Users[(string)user!["id"]!].Authentication.Methods.ToGetRequestInformation();
                steps[await batch.AddBatchRequestStepAsync(request)] = user;
            }
            Assert.True(batch.BatchRequestSteps.Count == 45);
            var answer = await tenant.Graph.Batch.PostAsync(batch);
            var statuses = await answer.GetResponsesStatusCodesAsync();
            Assert.Equal(45, statuses.Count);
            Assert.All(statuses.Values, status => Assert.Equal(HttpStatusCode.OK, status));
            foreach (var (step, user) in steps)
            {
                var methods = await answer.GetResponseByIdAsync<AuthenticationMethodCollectionResponse>(step);
                var truth = new JsonObject { ["value"] = user["authenticationMethods"]!.DeepClone() };
                ShapeCheck.AssertReadable(truth.ToJsonString(), methods);
            }
        }

        [Fact]
        public async Task AFailedStepIsAnODataError()
        {
            var batch = new BatchRequestContentCollection(tenant.Graph);
            var missing = await batch.AddBatchRequestStepAsync(
                tenant.Graph.Users["nobody@contoso.com"].Authentication.Methods.ToGetRequestInformation());
            var present = await batch.AddBatchRequestStepAsync(
                tenant.Graph.Users[(string)tenant.Truth[0]!["id"]!].Authentication.Methods.ToGetRequestInformation());
            var answer = await tenant.Graph.Batch.PostAsync(batch);
            var statuses = await answer.GetResponsesStatusCodesAsync();
            Assert.Equal(HttpStatusCode.NotFound, statuses[missing]);
            Assert.Equal(HttpStatusCode.OK, statuses[present]);
            using var response = await answer.GetResponseByIdAsync(missing);
            var body = await response.Content.ReadAsStringAsync();
            var error = await ShapeCheck.ReadAsync(body, ODataError.CreateFromDiscriminatorValue);
            Assert.Equal("Request_ResourceNotFound", error.Error!.Code);
            Assert.False(string.IsNullOrEmpty(error.Error.InnerError?.RequestId));
            Assert.NotNull(await KiotaJsonSerializer.DeserializeAsync(body, ODataError.CreateFromDiscriminatorValue));
        }
    }
}
