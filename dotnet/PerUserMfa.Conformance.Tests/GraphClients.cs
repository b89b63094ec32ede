using Microsoft.Graph;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>Microsoft's Graph client, pointed at the simulator with its default middleware.</summary>
    public static class GraphClients
    {
        /// <summary>
        /// A <see cref="GraphServiceClient"/> for <c>{simulator}/v1.0</c> with the SDK's default
        /// handlers; the <see cref="RetryHandler"/> retries up to 10 times, waiting what Retry-After
        /// says (no extra back-off without it, so the fault tests stay quick).
        /// </summary>
        public static GraphServiceClient Create(Simulator simulator, string token)
        {
            var handlers = GraphClientFactory.CreateDefaultHandlers()
                .Select(handler => handler is RetryHandler
                    ? new RetryHandler(new RetryHandlerOption { MaxRetry = 10, Delay = 0 })
                    : handler)
                .ToList();
            Assert.Contains(handlers, handler => handler is RetryHandler);
            var http = GraphClientFactory.Create(handlers, "v1.0", GraphClientFactory.Global_Cloud, null, new HttpClientHandler());
            var authentication = new BaseBearerTokenAuthenticationProvider(new FixedToken(token));
            return new GraphServiceClient(http, authentication, $"{simulator.Url}/v1.0");
        }

        /// <summary>The simulator's token for every request (the simulator is not a Microsoft host).</summary>
        private sealed class FixedToken(string token) : IAccessTokenProvider
        {
            public AllowedHostsValidator AllowedHostsValidator { get; } = new();

            public Task<string> GetAuthorizationTokenAsync(
                Uri uri,
                Dictionary<string, object>? additionalAuthenticationContext = null,
                CancellationToken cancellationToken = default) => Task.FromResult(token);
        }
    }
}
