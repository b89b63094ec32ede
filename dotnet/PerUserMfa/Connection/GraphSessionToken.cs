using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Security;

namespace PerUserMfa.Connection
{
    /// <summary>
    /// The token of the Microsoft Graph PowerShell session (<c>Connect-MgGraph</c>), for
    /// <c>Connect-PerUserMfa -UseGraphSession</c> or a Connect-PerUserMfa with no sign-in parameters.
    /// The SDK has no command that returns its token, so one request is made through it
    /// (<c>Invoke-MgGraphRequest -OutputType HttpResponseMessage</c>) and the bearer token read from the
    /// request it sent. The token is copied into a SecureString at once; the module keeps no managed
    /// copy (the SDK's request object, which it came from, is disposed).
    /// </summary>
    internal sealed class GraphSessionToken
    {
        public const string ModuleName = "Microsoft.Graph.Authentication";

        internal const string ModuleScript = "Get-Module -Name Microsoft.Graph.Authentication";
        internal const string ContextScript = "Microsoft.Graph.Authentication\\Get-MgContext";
        internal const string RequestScript =
            "Microsoft.Graph.Authentication\\Invoke-MgGraphRequest -Method GET -Uri 'v1.0/organization?$select=id' -OutputType HttpResponseMessage -ErrorAction Stop";

        private GraphSessionToken(SecureString token, string? environment, string? account, string? tenantId, string? clientId)
        {
            Token = token;
            Environment = environment;
            Account = account;
            TenantId = tenantId;
            ClientId = clientId;
        }

        public SecureString Token { get; }

        /// <summary>Get-MgContext's Environment (Global, USGov, USGovDoD, China), when it is one the module knows.</summary>
        public string? Environment { get; }

        public string? Account { get; }

        public string? TenantId { get; }

        public string? ClientId { get; }

        private static PerUserMfaException NotAvailable(string why, bool asked)
        {
            var lead = asked
                ? "Connect-PerUserMfa -UseGraphSession reuses the sign-in of Connect-MgGraph (Microsoft Graph PowerShell), but "
                : "Connect-PerUserMfa was run without sign-in parameters, so it looked for a Microsoft Graph PowerShell session (Connect-MgGraph) to reuse, but ";
            return new PerUserMfaException(
                lead + why + " Either run Connect-MgGraph -Scopes 'Policy.Read.All','User.Read.All' (add Policy.ReadWrite.AuthenticationMethod to change states) and then Connect-PerUserMfa, or sign in directly: -TenantId -ClientId -ClientSecret, -CertificatePath, -CertificateThumbprint, -Identity, -AzureCli or -AccessToken.",
                "GraphSessionNotFound",
                ErrorCategory.AuthenticationError);
        }

        /// <summary>Gets the token through <paramref name="invoke"/> (runs a script in the caller's session
        /// state). <paramref name="asked"/>: -UseGraphSession was given (only changes the wording).</summary>
        public static GraphSessionToken Acquire(Func<string, IList<PSObject>> invoke, bool asked)
        {
            if (invoke(ModuleScript).Count == 0)
            {
                throw NotAvailable($"the {ModuleName} module is not loaded in this session.", asked);
            }

            var contexts = invoke(ContextScript);
            var context = contexts.Count > 0 ? contexts[0] : null;
            if (context == null || context.BaseObject == null)
            {
                throw NotAvailable("Get-MgContext returned nothing: Microsoft Graph PowerShell is not connected.", asked);
            }

            IList<PSObject> answers;
            object? response;
            try
            {
                answers = invoke(RequestScript);
                response = answers.Count > 0 ? answers[0]?.BaseObject : null;
            }
            catch (Exception e) when (e is RuntimeException || e is InvalidOperationException)
            {
                // Graph refused the request (an app-only session without Organization.Read.All, say):
                // the SDK's exception still carries the response, and with it the request it sent.
                response = ResponseIn(e);
                if (response == null)
                {
                    throw new PerUserMfaException(
                        "Microsoft Graph PowerShell is connected but could not make a request with its token (" + e.Message.Trim() + "). Run Connect-MgGraph again, then Connect-PerUserMfa.",
                        "GraphSessionNotFound",
                        ErrorCategory.AuthenticationError,
                        e);
                }
            }

            try
            {
                var token = BearerOf(response);
                if (token == null || token.Length == 0)
                {
                    throw NotAvailable("the request Microsoft Graph PowerShell made carried no bearer token.", asked);
                }

                return new GraphSessionToken(
                    token,
                    SignInOptions.CanonicalEnvironment(Text(context, "Environment")),
                    Text(context, "Account"),
                    Text(context, "TenantId"),
                    Text(context, "ClientId"));
            }
            finally
            {
                (response as IDisposable)?.Dispose();
            }
        }

        /// <summary><c>response.RequestMessage.Headers.Authorization.Parameter</c> when the scheme is Bearer,
        /// copied straight into a read-only SecureString.</summary>
        internal static unsafe SecureString? BearerOf(object? response)
        {
            var authorization = Property(Property(Property(response, "RequestMessage"), "Headers"), "Authorization");
            var scheme = Property(authorization, "Scheme") as string;
            if (scheme == null || !string.Equals(scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            if (!(Property(authorization, "Parameter") is string parameter) || parameter.Length == 0)
            {
                return null;
            }

            fixed (char* chars = parameter)
            {
                var secure = new SecureString(chars, parameter.Length);
                secure.MakeReadOnly();
                return secure;
            }
        }

        /// <summary>The HTTP response an SDK exception (or one it wraps) carries in a Response property.</summary>
        internal static object? ResponseIn(Exception? error)
        {
            var pending = new Queue<Exception>();
            var seen = new HashSet<Exception>();
            if (error != null)
            {
                pending.Enqueue(error);
            }

            while (pending.Count > 0 && seen.Count < 16)
            {
                var current = pending.Dequeue();
                if (!seen.Add(current))
                {
                    continue;
                }

                var response = Property(current, "Response");
                if (response != null && Property(response, "RequestMessage") != null)
                {
                    return response;
                }

                if (current.InnerException != null)
                {
                    pending.Enqueue(current.InnerException);
                }

                if ((current as IContainsErrorRecord)?.ErrorRecord?.Exception is Exception recorded)
                {
                    pending.Enqueue(recorded);
                }
            }

            return null;
        }

        private static object? Property(object? target, string name)
        {
            if (target == null)
            {
                return null;
            }

            return PSObject.AsPSObject(target).Properties[name]?.Value is object value
                ? value is PSObject wrapped ? wrapped.BaseObject : value
                : null;
        }

        private static string? Text(PSObject context, string name)
        {
            var value = context.Properties[name]?.Value;
            var text = value?.ToString();
            return string.IsNullOrWhiteSpace(text) ? null : text;
        }
    }
}
