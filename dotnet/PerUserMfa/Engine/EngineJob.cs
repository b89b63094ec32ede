using System;
using System.Collections.Generic;
using PerUserMfa.Native;

namespace PerUserMfa.Engine
{
    /// <summary>
    /// A native engine job. Only the pipeline thread calls <see cref="Push"/>, <see cref="CloseInput"/>,
    /// <see cref="Next"/> and <see cref="Dispose"/>; <see cref="Cancel"/> may come from any thread
    /// (StopProcessing). The job keeps its session's handle referenced, so closing the session
    /// (Connect/Disconnect in another runspace) never frees it under a running job.
    /// </summary>
    internal sealed unsafe class EngineJob : IEngineJob
    {
        private readonly JobHandle _handle;
        private readonly SessionHandle _session;
        private bool _sessionReferenced;

        internal EngineJob(JobHandle handle, SessionHandle session)
        {
            _handle = handle;
            _session = session;
            session.DangerousAddRef(ref _sessionReferenced);
        }

        public void Push(IReadOnlyList<string> userIds) => PushInput(EngineRequests.UserIds(userIds));

        public void PushInput(string inputJson)
        {
            var input = NativeBuffer.Encode(inputJson);
            var error = default(PumfaBuffer);
            try
            {
                int status;
                using (var job = new HandleLease(_handle))
                {
                    fixed (byte* inputPtr = input)
                    {
                        status = NativeMethods.pumfa_job_push(job.Pointer, inputPtr, (nuint)input.Length, &error);
                    }
                }

                if (status != NativeMethods.PUMFA_OK)
                {
                    throw EngineSession.ErrorFrom(&error, "accept input", status);
                }
            }
            finally
            {
                NativeBuffer.Free(&error);
            }
        }

        public void CloseInput()
        {
            int status;
            using (var job = new HandleLease(_handle))
            {
                status = NativeMethods.pumfa_job_close_input(job.Pointer);
            }

            if (status != NativeMethods.PUMFA_OK)
            {
                throw EngineException.FromUndescribedFailure("close the job's input", status);
            }
        }

        public JobNextResult Next(uint timeoutMilliseconds, out EngineEvent? engineEvent)
        {
            engineEvent = null;
            var buffer = default(PumfaBuffer);
            try
            {
                int status;
                using (var job = new HandleLease(_handle))
                {
                    status = NativeMethods.pumfa_job_next(job.Pointer, timeoutMilliseconds, &buffer);
                }

                switch (status)
                {
                    case NativeMethods.PUMFA_OK:
                        var json = NativeBuffer.TakeString(&buffer);
                        if (string.IsNullOrEmpty(json))
                        {
                            throw EngineException.FromUndescribedFailure("deliver an event", status, "The event was empty.");
                        }

                        engineEvent = EngineEvent.Parse(json!);
                        return JobNextResult.Event;
                    case NativeMethods.PUMFA_TIMEOUT:
                        return JobNextResult.Timeout;
                    case NativeMethods.PUMFA_DONE:
                        return JobNextResult.Done;
                    default:
                        throw EngineSession.ErrorFrom(&buffer, "deliver an event", status);
                }
            }
            finally
            {
                NativeBuffer.Free(&buffer);
            }
        }

        public void Cancel()
        {
            try
            {
                using (var job = new HandleLease(_handle))
                {
                    NativeMethods.pumfa_job_cancel(job.Pointer);
                }
            }
            catch (ObjectDisposedException)
            {
                // Already freed: freeing cancelled it.
            }
        }

        public void Dispose()
        {
            _handle.Dispose();
            if (_sessionReferenced)
            {
                _sessionReferenced = false;
                _session.DangerousRelease();
            }
        }
    }
}
