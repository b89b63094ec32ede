using Microsoft.Graph.Models.ODataErrors;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>Graph's error bodies, as the SDK parses them into <see cref="ODataError"/>.</summary>
    public sealed class ErrorTests(TenantFixture tenant) : IClassFixture<TenantFixture>
    {
        private static void AssertComplete(ODataError error, int status, string code)
        {
            Assert.Equal(status, error.ResponseStatusCode);
            Assert.Equal(code, error.Error!.Code);
            Assert.False(string.IsNullOrWhiteSpace(error.Error.Message));
            Assert.False(string.IsNullOrWhiteSpace(error.Error.InnerError?.RequestId));
            Assert.False(string.IsNullOrWhiteSpace(error.Error.InnerError?.ClientRequestId));
            Assert.NotNull(error.Error.InnerError?.Date);
            Assert.Empty(error.Error.AdditionalData);
            Assert.Empty(error.Error.InnerError!.AdditionalData);
        }

        [Fact]
        public async Task AnUnknownUserIs404()
        {
            var error = await Assert.ThrowsAsync<ODataError>(() => tenant.Graph.Users["nobody@contoso.com"].GetAsync());
            AssertComplete(error, 404, "Request_ResourceNotFound");
        }

        [Fact]
        public async Task AnUnsupportedFilterIs400()
        {
            var error = await Assert.ThrowsAsync<ODataError>(() =>
                tenant.Graph.Users.GetAsync(r => r.QueryParameters.Filter = "startswith(displayName,'A')"));
            AssertComplete(error, 400, "Request_UnsupportedQuery");
        }

        [Fact]
        public async Task ABetaOnlySignInPropertyCannotBeFilteredOnV1()
        {
            var error = await Assert.ThrowsAsync<ODataError>(() => tenant.Graph.AuditLogs.SignIns.GetAsync(r =>
                r.QueryParameters.Filter = "authenticationRequirement eq 'multiFactorAuthentication'"));
            Assert.Equal(400, error.ResponseStatusCode);
            Assert.Contains("authenticationRequirement", error.Error!.Message);
        }

        [Fact]
        public async Task AMissingPermissionIs403()
        {
            using var limited = GraphClients.Create(tenant.Simulator, tenant.Simulator.Token("User.Read.All"));
            var error = await Assert.ThrowsAsync<ODataError>(() => limited.AuditLogs.SignIns.GetAsync());
            AssertComplete(error, 403, "Authorization_RequestDenied");
        }
    }
}
