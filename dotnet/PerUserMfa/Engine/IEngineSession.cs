using System;

namespace PerUserMfa.Engine
{
    /// <summary>A connection to Microsoft Graph held by the engine. <see cref="EngineSession"/> is the
    /// native implementation; tests put fakes into <see cref="Connection.ConnectionContext"/>.</summary>
    internal interface IEngineSession : IDisposable
    {
        /// <summary>The Graph endpoint the session talks to, as the admin gave it.</summary>
        string GraphEndpoint { get; }

        /// <summary>Starts a job described by a request JSON document (see <see cref="EngineRequests"/>).</summary>
        IEngineJob StartJob(string requestJson);

        /// <summary>The connection's details as JSON (<c>pumfa_session_info</c>): sign-in method, tenant,
        /// app, cloud, the token's permissions and expiry; never the token. Null when not available.</summary>
        string? InfoJson();
    }
}
