using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Json;

namespace PerUserMfa.Connection
{
    /// <summary>The current connection as Get-PerUserMfaConnection shows it (type name
    /// <c>PerUserMfa.Connection</c>), read from the engine's <c>pumfa_session_info</c>. It never holds
    /// the token.</summary>
    internal sealed class ConnectionInfo
    {
        public const string TypeName = "PerUserMfa.Connection";

        private readonly JsonObject _info;

        private ConnectionInfo(JsonObject info)
        {
            _info = info;
        }

        public string? Get(string name) => _info[name] as string;

        /// <summary>The details of <paramref name="session"/>, or null when the engine has none to give.</summary>
        public static ConnectionInfo? TryRead(IEngineSession session)
        {
            var json = session.InfoJson();
            if (string.IsNullOrEmpty(json))
            {
                return null;
            }

            try
            {
                return new ConnectionInfo(JsonReader.ParseObject(json!));
            }
            catch (JsonFormatException)
            {
                return null;
            }
        }

        public static ConnectionInfo Parse(string json) => new ConnectionInfo(JsonReader.ParseObject(json));

        public string[] Permissions
        {
            get
            {
                var list = new List<string>();
                if (_info["permissions"] is List<object?> items)
                {
                    foreach (var item in items)
                    {
                        if (item is string text)
                        {
                            list.Add(text);
                        }
                    }
                }

                return list.ToArray();
            }
        }

        /// <summary>When the current token expires, in local time; null when unknown (an opaque token).</summary>
        public DateTimeOffset? TokenExpiresOn
        {
            get
            {
                var text = Get("tokenExpiresOn");
                if (text != null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
                {
                    return value.ToLocalTime();
                }

                return null;
            }
        }

        /// <summary>TenantId, ClientId, AppDisplayName, Account, SignInMethod, ManagedIdentitySource,
        /// CertificateThumbprint, Environment, GraphEndpoint, AuthorityHost, PermissionType, Permissions,
        /// TokenExpiresOn, RefreshesToken.</summary>
        public PSObject ToPSObject()
        {
            var result = new PSObject();
            result.TypeNames.Insert(0, TypeName);
            void Add(string name, object? value) => result.Properties.Add(new PSNoteProperty(name, value));
            Add("TenantId", Get("tenantId"));
            Add("ClientId", Get("clientId"));
            Add("AppDisplayName", Get("appDisplayName"));
            Add("Account", Get("account"));
            Add("SignInMethod", Get("method"));
            Add("ManagedIdentitySource", Get("managedIdentitySource"));
            Add("CertificateThumbprint", Get("certificateThumbprint"));
            Add("Environment", Get("environment"));
            Add("GraphEndpoint", Get("graphEndpoint"));
            Add("AuthorityHost", Get("authorityHost"));
            Add("PermissionType", Get("permissionType"));
            Add("Permissions", Permissions);
            Add("TokenExpiresOn", TokenExpiresOn);
            Add("RefreshesToken", _info["refreshes"] is bool refreshes && refreshes);
            return result;
        }

        /// <summary>One line for -Verbose after connecting.</summary>
        public string Describe()
        {
            var parts = new List<string> { $"Signed in with {Get("method") ?? "an access token"}" };
            if (Get("managedIdentitySource") is string source)
            {
                parts[0] += $" ({source})";
            }

            var who = Get("account") ?? Get("appDisplayName") ?? Get("clientId");
            if (who != null)
            {
                parts.Add($"as {who}");
            }

            if (Get("tenantId") is string tenant)
            {
                parts.Add($"in tenant {tenant}");
            }

            parts.Add($"({Get("environment") ?? SignInOptions.Global})");
            var text = string.Join(" ", parts) + ".";
            if (Get("tokenFormat") == "opaque")
            {
                return text + " The token is not a JWT, so its permissions cannot be checked before Graph answers.";
            }

            var permissions = Permissions;
            text += permissions.Length == 0
                ? " The token carries no Microsoft Graph permissions."
                : $" {Get("permissionType") ?? "Token"} permissions: {string.Join(", ", permissions)}.";
            if (TokenExpiresOn is DateTimeOffset expires)
            {
                text += _info["refreshes"] is bool refreshes && refreshes
                    ? $" The token is valid until {expires:u} and is refreshed before it expires."
                    : $" The token is valid until {expires:u}; it cannot be refreshed, so connect again after that.";
            }

            return text;
        }
    }
}
