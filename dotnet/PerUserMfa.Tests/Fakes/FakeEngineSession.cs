using System;
using System.Collections.Generic;
using PerUserMfa.Engine;

namespace PerUserMfa.Tests.Fakes
{
    /// <summary>A session that records the jobs it starts; <see cref="Configure"/> scripts each new job.</summary>
    internal sealed class FakeEngineSession : IEngineSession
    {
        public FakeEngineSession(string graphEndpoint = "https://graph.microsoft.com")
        {
            GraphEndpoint = graphEndpoint;
        }

        public string GraphEndpoint { get; }

        public Action<FakeEngineJob>? Configure { get; set; }

        public Exception? StartFailure { get; set; }

        public List<FakeEngineJob> Jobs { get; } = new List<FakeEngineJob>();

        public bool Disposed { get; private set; }

        public IEngineJob StartJob(string requestJson)
        {
            if (StartFailure != null)
            {
                throw StartFailure;
            }

            var job = new FakeEngineJob(requestJson);
            Configure?.Invoke(job);
            Jobs.Add(job);
            return job;
        }

        /// <summary>What <see cref="InfoJson"/> answers (the engine's <c>pumfa_session_info</c>).</summary>
        public string? Info { get; set; }

        public string? InfoJson() => Disposed ? null : Info;

        public void Dispose() => Disposed = true;
    }
}
