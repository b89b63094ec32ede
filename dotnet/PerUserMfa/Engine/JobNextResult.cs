namespace PerUserMfa.Engine
{
    /// <summary>What <see cref="IEngineJob.Next"/> found.</summary>
    internal enum JobNextResult
    {
        /// <summary>An event was read.</summary>
        Event,

        /// <summary>No event within the timeout; ask again.</summary>
        Timeout,

        /// <summary>The job finished and every event has been read.</summary>
        Done,
    }
}
