using System;
using System.Collections.Generic;
using System.Security;
using PerUserMfa.Json;

namespace PerUserMfa.Connection
{
    /// <summary>The session options for <c>pumfa_session_open</c> (docs/ARCHITECTURE.md §1) for each way to
    /// sign in. The engine maps the environment to its Graph endpoint, Entra ID authority and token
    /// audience; -GraphEndpoint and -AuthorityHost override the first two.</summary>
    internal static class SignInOptions
    {
        public const string Global = "Global";

        /// <summary>Graph endpoints by environment (the engine has the same table; this one names the
        /// endpoint in messages before the engine answers).</summary>
        private static readonly Dictionary<string, string> GraphEndpoints = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Global"] = "https://graph.microsoft.com",
            ["USGov"] = "https://graph.microsoft.us",
            ["USGovDoD"] = "https://dod-graph.microsoft.us",
            ["China"] = "https://microsoftgraph.chinacloudapi.cn",
        };

        /// <summary>The environment names -Environment takes.</summary>
        public static IEnumerable<string> Environments => GraphEndpoints.Keys;

        /// <summary>The canonical spelling of a known environment name, or null.</summary>
        public static string? CanonicalEnvironment(string? name)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                return null;
            }

            foreach (var known in GraphEndpoints.Keys)
            {
                if (string.Equals(known, name!.Trim(), StringComparison.OrdinalIgnoreCase))
                {
                    return known;
                }
            }

            return null;
        }

        /// <summary>The Graph endpoint: -GraphEndpoint as typed, else the environment's.</summary>
        public static string GraphEndpointFor(string environment, Uri? graphEndpoint) =>
            graphEndpoint != null ? Connector.EndpointText(graphEndpoint) : GraphEndpoints.TryGetValue(environment, out var known) ? known : GraphEndpoints[Global];

        /// <summary><c>{"graphEndpoint","environment",["authorityHost"],"auth":{...},"userAgent"}</c>.</summary>
        public static string Build(string graphEndpoint, string environment, Uri? authorityHost, Action<JsonWriter> writeAuth, string userAgent)
        {
            var writer = new JsonWriter()
                .WriteStartObject()
                .WriteProperty("graphEndpoint", graphEndpoint)
                .WriteProperty("environment", environment);
            if (authorityHost != null)
            {
                writer.WriteProperty("authorityHost", Connector.EndpointText(authorityHost));
            }

            writer.WritePropertyName("auth").WriteStartObject();
            writeAuth(writer);
            writer.WriteEndObject();
            return writer.WriteProperty("userAgent", userAgent).WriteEndObject().ToString();
        }

        public static Action<JsonWriter> AccessToken() => w => w.WriteProperty("kind", "accessToken");

        public static Action<JsonWriter> GraphSession() => w => w.WriteProperty("kind", "graphSession");

        public static Action<JsonWriter> ClientSecret(string tenantId, string clientId) =>
            w => w.WriteProperty("kind", "clientSecret").WriteProperty("tenantId", tenantId).WriteProperty("clientId", clientId);

        public static Action<JsonWriter> Certificate(string tenantId, string clientId, string thumbprint) =>
            w => w.WriteProperty("kind", "certificate").WriteProperty("tenantId", tenantId).WriteProperty("clientId", clientId).WriteProperty("thumbprint", thumbprint);

        public static Action<JsonWriter> AzureCli(string? tenantId, string? path) => w =>
        {
            w.WriteProperty("kind", "azureCli");
            if (!string.IsNullOrEmpty(tenantId))
            {
                w.WriteProperty("tenantId", tenantId);
            }

            if (!string.IsNullOrEmpty(path))
            {
                w.WriteProperty("path", path);
            }
        };

        public static Action<JsonWriter> ManagedIdentity(string? clientId, ManagedIdentityEnvironment environment) => w =>
        {
            w.WriteProperty("kind", "managedIdentity");
            if (!string.IsNullOrEmpty(clientId))
            {
                w.WriteProperty("clientId", clientId);
            }

            w.WritePropertyName("environmentVariables").WriteStartObject();
            foreach (var pair in environment.Variables)
            {
                w.WriteProperty(pair.Key, pair.Value);
            }

            w.WriteEndObject();
            if (environment.SecretVariable != null)
            {
                w.WriteProperty("secretVariable", environment.SecretVariable);
            }
        };
    }

    /// <summary>What a managed identity sign-in needs from the environment the PowerShell session sees
    /// (on Linux and macOS .NET keeps its own copy of the environment, so the engine cannot read
    /// variables set in the session itself). The header secret (<c>IDENTITY_HEADER</c> or
    /// <c>MSI_SECRET</c>) goes to the engine as the session secret, never in the options.</summary>
    internal sealed class ManagedIdentityEnvironment
    {
        /// <summary>The variables passed in the options: none of them is a secret.</summary>
        public static readonly string[] PlainVariables =
        {
            "IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        };

        private ManagedIdentityEnvironment(List<KeyValuePair<string, string>> variables, string? secretVariable, string? secret)
        {
            Variables = variables;
            SecretVariable = secretVariable;
            SecretValue = secret;
        }

        public List<KeyValuePair<string, string>> Variables { get; }

        /// <summary><c>IDENTITY_HEADER</c> (App Service, Azure Automation) or <c>MSI_SECRET</c> (older hosts), when set.</summary>
        public string? SecretVariable { get; }

        private string? SecretValue { get; }

        /// <summary>Reads the variables with <paramref name="read"/> (tests pass a dictionary).</summary>
        public static ManagedIdentityEnvironment Read(Func<string, string?> read)
        {
            var variables = new List<KeyValuePair<string, string>>();
            foreach (var name in PlainVariables)
            {
                var value = read(name);
                if (!string.IsNullOrWhiteSpace(value))
                {
                    variables.Add(new KeyValuePair<string, string>(name, value!.Trim()));
                }
            }

            bool Has(string name) => !string.IsNullOrWhiteSpace(read(name));
            string? secretVariable = null;
            if (Has("IDENTITY_ENDPOINT") && Has("IDENTITY_HEADER"))
            {
                secretVariable = "IDENTITY_HEADER";
            }
            else if (Has("MSI_ENDPOINT") && Has("MSI_SECRET"))
            {
                secretVariable = "MSI_SECRET";
            }

            return new ManagedIdentityEnvironment(variables, secretVariable, secretVariable == null ? null : read(secretVariable));
        }

        /// <summary>Where tokens will come from, in words (for -Verbose).</summary>
        public string Describe()
        {
            foreach (var pair in Variables)
            {
                if (pair.Key == "IDENTITY_ENDPOINT" && SecretVariable == "IDENTITY_HEADER")
                {
                    return "the managed identity endpoint of Azure Automation / App Service (IDENTITY_ENDPOINT)";
                }
            }

            foreach (var pair in Variables)
            {
                if (pair.Key == "IDENTITY_ENDPOINT")
                {
                    return "the Azure Arc managed identity endpoint (IDENTITY_ENDPOINT)";
                }

                if (pair.Key == "MSI_ENDPOINT")
                {
                    return "the managed identity endpoint MSI_ENDPOINT";
                }
            }

            return "the Azure Instance Metadata Service (IMDS)";
        }

        /// <summary>The header secret as a SecureString (null when there is none).</summary>
        public unsafe SecureString? Secret()
        {
            if (string.IsNullOrEmpty(SecretValue))
            {
                return null;
            }

            fixed (char* chars = SecretValue)
            {
                var secure = new SecureString(chars, SecretValue!.Length);
                secure.MakeReadOnly();
                return secure;
            }
        }
    }
}
