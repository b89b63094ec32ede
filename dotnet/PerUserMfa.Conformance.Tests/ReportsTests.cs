using System.Globalization;
using Microsoft.Graph;
using Microsoft.Graph.Models;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>The report sources on v1.0: registration details, sign-in logs, authentication methods.</summary>
    public sealed class ReportsTests(TenantFixture tenant) : IClassFixture<TenantFixture>
    {
        [Fact]
        public async Task RegistrationDetailsHaveTheV1Shape()
        {
            var builder = tenant.Graph.Reports.AuthenticationMethods.UserRegistrationDetails;
            var first = await builder.GetAsync(r => r.QueryParameters.Top = 999);
            var ids = new List<string>();
            var iterator = PageIterator<UserRegistrationDetails, UserRegistrationDetailsCollectionResponse>
                .CreatePageIterator(tenant.Graph, first!, row =>
                {
                    ids.Add(row.Id!);
                    return true;
                });
            await iterator.IterateAsync();
            var enabled = tenant.Truth.Where(u => (bool)u!["accountEnabled"]!).Select(u => (string)u!["id"]!).ToList();
            Assert.Equal(enabled, ids);

            var url = builder.ToGetRequestInformation(r => r.QueryParameters.Top = 999).URI.ToString();
            foreach (var page in await tenant.RawPagesAsync(url))
            {
                await ShapeCheck.ReadAsync(page, UserRegistrationDetailsCollectionResponse.CreateFromDiscriminatorValue);
            }
        }

        [Fact]
        public async Task SignInsHaveTheV1ShapeAndUniqueIds()
        {
            var since = DateTimeOffset.UtcNow.AddDays(-30).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var filter = $"createdDateTime ge {since} and status/errorCode eq 0";
            var builder = tenant.Graph.AuditLogs.SignIns;
            var first = await builder.GetAsync(r => r.QueryParameters.Filter = filter);
            var ids = new List<string>();
            var iterator = PageIterator<SignIn, SignInCollectionResponse>.CreatePageIterator(tenant.Graph, first!, signIn =>
            {
                Assert.Equal(0, signIn.Status!.ErrorCode);
                ids.Add(signIn.Id!);
                return true;
            });
            await iterator.IterateAsync();
            Assert.True(ids.Count > 1000, $"{ids.Count} sign-ins: more than one page");
            Assert.Equal(ids.Count, ids.Distinct().Count());

            var url = builder.ToGetRequestInformation(r => r.QueryParameters.Filter = filter).URI.ToString();
            var withPolicies = 0;
            foreach (var page in await tenant.RawPagesAsync(url))
            {
                var read = await ShapeCheck.ReadAsync(page, SignInCollectionResponse.CreateFromDiscriminatorValue);
                withPolicies += read.Value!.Count(s => s.AppliedConditionalAccessPolicies is { Count: > 0 });
            }
            Assert.True(withPolicies > 0, "some sign-ins carry the Conditional Access policies applied to them");
        }

        [Fact]
        public async Task AuthenticationMethodsAreTypedByKind()
        {
            var kinds = new HashSet<string>();
            foreach (var user in tenant.Truth.Take(120))
            {
                var id = (string)user!["id"]!;
                var methods = await tenant.Graph.Users[id].Authentication.Methods.GetAsync();
                Assert.Equal(user["authenticationMethods"]!.AsArray().Count, methods!.Value!.Count);
                foreach (var method in methods.Value)
                {
                    Assert.NotEqual(typeof(AuthenticationMethod), method.GetType());
                    kinds.Add(method.GetType().Name);
                }
                var raw = await tenant.Raw.GetStringAsync(tenant.Graph.Users[id].Authentication.Methods.ToGetRequestInformation().URI);
                await ShapeCheck.ReadAsync(raw, AuthenticationMethodCollectionResponse.CreateFromDiscriminatorValue);
            }
            Assert.Contains(nameof(PasswordAuthenticationMethod), kinds);
            Assert.Contains(nameof(PhoneAuthenticationMethod), kinds);
            Assert.Contains(nameof(MicrosoftAuthenticatorAuthenticationMethod), kinds);
            Assert.Contains(nameof(Fido2AuthenticationMethod), kinds);
        }
    }
}
