using System;
using System.Collections.Generic;

namespace PerUserMfa.Engine
{
    /// <summary>One running engine job (one cmdlet invocation). <see cref="EngineJob"/> is the native
    /// implementation; tests drive the pipeline code with fakes.</summary>
    internal interface IEngineJob : IDisposable
    {
        /// <summary>Adds users (object ids or UPNs as given) to the job's input.</summary>
        void Push(IReadOnlyList<string> userIds);

        /// <summary>Adds input given as the whole JSON document (<c>{"changes":[...]}</c>, see <see cref="EngineRequests.Changes"/>).</summary>
        void PushInput(string inputJson);

        /// <summary>No more input comes; the job finishes once the pushed users are done.</summary>
        void CloseInput();

        /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for the next event.</summary>
        JobNextResult Next(uint timeoutMilliseconds, out EngineEvent? engineEvent);

        /// <summary>Cancels the job; callable from any thread, any number of times, also after Dispose.</summary>
        void Cancel();
    }
}
