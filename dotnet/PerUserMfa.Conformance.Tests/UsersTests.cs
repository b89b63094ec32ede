using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Users;
using Microsoft.Kiota.Abstractions;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>The users routes the module uses, read through Microsoft's SDK.</summary>
    public sealed class UsersTests(TenantFixture tenant) : IClassFixture<TenantFixture>
    {
        /// <summary>The report's directory columns (the engine's <c>DIRECTORY_SELECT</c>).</summary>
        private static readonly string[] DirectorySelect =
        [
            "id", "userPrincipalName", "displayName", "userType", "accountEnabled", "assignedLicenses",
            "lastPasswordChangeDateTime", "passwordPolicies", "signInSessionsValidFromDateTime",
        ];

        private const string LicensedMembers = "assignedLicenses/$count ne 0 and userType eq 'Member'";

        [Fact]
        public async Task LicensedMembersPageThroughAdvancedQuery()
        {
            void Configure(RequestConfiguration<UsersRequestBuilder.UsersRequestBuilderGetQueryParameters> request)
            {
                request.QueryParameters.Filter = LicensedMembers;
                request.QueryParameters.Count = true;
                request.QueryParameters.Top = 999;
                request.QueryParameters.Select = DirectorySelect;
                request.Headers.Add("ConsistencyLevel", "eventual");
            }

            var first = await tenant.Graph.Users.GetAsync(Configure);
            Assert.NotNull(first);
            var expected = tenant.Truth
                .Where(u => (string?)u!["userType"] == "Member" && u!["assignedLicenses"]!.AsArray().Count > 0)
                .Select(u => (string)u!["id"]!)
                .ToList();
            Assert.Equal(expected.Count, first.OdataCount);
            var seen = new List<string>();
            var iterator = PageIterator<User, UserCollectionResponse>.CreatePageIterator(
                tenant.Graph,
                first,
                user =>
                {
                    seen.Add(user.Id!);
                    return true;
                },
                request =>
                {
                    request.Headers.Add("ConsistencyLevel", "eventual");
                    return request;
                });
            await iterator.IterateAsync();
            Assert.Equal(expected, seen);

            var url = tenant.Graph.Users.ToGetRequestInformation(Configure).URI.ToString();
            foreach (var page in await tenant.RawPagesAsync(url, eventual: true))
            {
                await ShapeCheck.ReadAsync(page, UserCollectionResponse.CreateFromDiscriminatorValue);
            }
        }

        [Fact]
        public async Task EveryUserPropertyTheSimulatorServesIsTyped()
        {
            string[] all =
            [
                .. DirectorySelect, "givenName", "surname", "mail", "jobTitle", "businessPhones", "mobilePhone",
                "officeLocation", "preferredLanguage", "createdDateTime", "department", "usageLocation", "companyName",
                "employeeId", "onPremisesSyncEnabled", "externalUserState", "signInActivity",
            ];
            var url = tenant.Graph.Users.ToGetRequestInformation(r =>
            {
                r.QueryParameters.Select = all;
                r.QueryParameters.Top = 500;
            }).URI.ToString();
            var pages = await tenant.RawPagesAsync(url);
            var read = 0;
            foreach (var page in pages)
            {
                read += (await ShapeCheck.ReadAsync(page, UserCollectionResponse.CreateFromDiscriminatorValue)).Value!.Count;
            }
            Assert.Equal(tenant.Truth.Count, read);
        }

        [Fact]
        public async Task SignInActivityListingReadsEveryMember()
        {
            // The engine's sign-in activity source: a default query, never advanced.
            var first = await tenant.Graph.Users.GetAsync(r =>
            {
                r.QueryParameters.Filter = "userType eq 'Member'";
                r.QueryParameters.Select = ["id", "signInActivity"];
                r.QueryParameters.Top = 500;
            });
            var read = new Dictionary<string, DateTimeOffset?>();
            var iterator = PageIterator<User, UserCollectionResponse>.CreatePageIterator(tenant.Graph, first!, user =>
            {
                read[user.Id!] = user.SignInActivity?.LastSignInDateTime;
                return true;
            });
            await iterator.IterateAsync();
            var members = tenant.Truth.Where(u => (string?)u!["userType"] == "Member").ToList();
            Assert.Equal(members.Count, read.Count);
            foreach (var member in members)
            {
                var truth = (string?)member!["lastSignInDateTime"];
                var value = read[(string)member["id"]!];
                Assert.Equal(truth is null ? null : DateTimeOffset.Parse(truth, System.Globalization.CultureInfo.InvariantCulture), value);
            }
        }

        [Fact]
        public async Task UsersAreFoundByIdAndByAwkwardUserPrincipalNames()
        {
            foreach (var fixture in tenant.Truth.Take(8))
            {
                var id = (string)fixture!["id"]!;
                var upn = (string)fixture["userPrincipalName"]!;
                var byId = await tenant.Graph.Users[id].GetAsync(r => r.QueryParameters.Select = ["id", "userPrincipalName", "displayName"]);
                var byUpn = await tenant.Graph.Users[upn].GetAsync(r => r.QueryParameters.Select = ["id", "userPrincipalName", "displayName"]);
                Assert.Equal(id, byId!.Id);
                Assert.Equal(id, byUpn!.Id);
                Assert.Equal(upn, byUpn.UserPrincipalName);
                Assert.Equal((string)fixture["displayName"]!, byUpn.DisplayName);
                var raw = await tenant.Raw.GetStringAsync(tenant.Graph.Users[upn].ToGetRequestInformation().URI);
                await ShapeCheck.ReadAsync(raw, User.CreateFromDiscriminatorValue);
            }
        }
    }
}
