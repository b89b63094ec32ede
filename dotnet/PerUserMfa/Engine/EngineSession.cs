using System;
using System.Security;
using PerUserMfa.Json;
using PerUserMfa.Native;

namespace PerUserMfa.Engine
{
    /// <summary>A native engine session: open (with the secret marshalled straight from a
    /// <see cref="SecureString"/>), start jobs, close.</summary>
    internal sealed unsafe class EngineSession : IEngineSession
    {
        private readonly SessionHandle _handle;

        private EngineSession(SessionHandle handle, string graphEndpoint)
        {
            _handle = handle;
            GraphEndpoint = graphEndpoint;
        }

        public string GraphEndpoint { get; }

        /// <summary>
        /// Opens a session. The secret goes to the engine as UTF-16 code units from
        /// <c>SecureStringToGlobalAllocUnicode</c> and is wiped and freed when the call returns; it is never
        /// a managed string. Throws <see cref="EngineException"/> with the engine's error event (for
        /// example an endpoint that is neither https nor loopback http).
        /// </summary>
        public static EngineSession Open(string graphEndpoint, string optionsJson, SecureString? secret)
        {
            NativeLibraryLoader.EnsureLoaded();
            var options = NativeBuffer.Encode(optionsJson);
            var handle = new SessionHandle();
            var error = default(PumfaBuffer);
            int status;
            try
            {
                void* session = null;
                using (var plain = UnmanagedSecret.From(secret))
                {
                    fixed (byte* optionsPtr = options)
                    {
                        status = NativeMethods.pumfa_session_open(optionsPtr, (nuint)options.Length, plain.Chars, (nuint)plain.Length, &session, &error);
                        if (session != null)
                        {
                            handle.Attach((IntPtr)session);
                        }
                    }
                }

                if (status == NativeMethods.PUMFA_OK && !handle.IsInvalid)
                {
                    return new EngineSession(handle, graphEndpoint);
                }

                throw ErrorFrom(&error, "open a session", status);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
            finally
            {
                NativeBuffer.Free(&error);
            }
        }

        public IEngineJob StartJob(string requestJson)
        {
            var request = NativeBuffer.Encode(requestJson);
            var jobHandle = new JobHandle();
            var error = default(PumfaBuffer);
            try
            {
                int status;
                try
                {
                    using (var session = new HandleLease(_handle))
                    {
                        void* job = null;
                        fixed (byte* requestPtr = request)
                        {
                            status = NativeMethods.pumfa_job_start(session.Pointer, requestPtr, (nuint)request.Length, &job, &error);
                            if (job != null)
                            {
                                jobHandle.Attach((IntPtr)job);
                            }
                        }

                        if (status == NativeMethods.PUMFA_OK && !jobHandle.IsInvalid)
                        {
                            // Takes its own reference on the session while this lease still holds one.
                            return new EngineJob(jobHandle, _handle);
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    throw new EngineException(EngineEvent.CreateError(
                        "NotConnected",
                        "ConnectionError",
                        "The connection to Microsoft Graph was closed (Disconnect-PerUserMfa or Connect-PerUserMfa ran) before this command could start. Run Connect-PerUserMfa and then the command again."));
                }

                throw ErrorFrom(&error, "start a job", status);
            }
            catch
            {
                jobHandle.Dispose();
                throw;
            }
            finally
            {
                NativeBuffer.Free(&error);
            }
        }

        public string? InfoJson()
        {
            var info = default(PumfaBuffer);
            try
            {
                using (var session = new HandleLease(_handle))
                {
                    var status = NativeMethods.pumfa_session_info(session.Pointer, &info);
                    var json = NativeBuffer.TakeString(&info);
                    return status == NativeMethods.PUMFA_OK ? json : null;
                }
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            finally
            {
                NativeBuffer.Free(&info);
            }
        }

        public void Dispose() => _handle.Dispose();

        /// <summary>The exception for a failed call: the engine's error event when it wrote one.</summary>
        internal static EngineException ErrorFrom(PumfaBuffer* error, string operation, int status)
        {
            var json = NativeBuffer.TakeString(error);
            if (string.IsNullOrEmpty(json))
            {
                return EngineException.FromUndescribedFailure(operation, status);
            }

            try
            {
                return new EngineException(EngineEvent.Parse(json!));
            }
            catch (JsonFormatException e)
            {
                return EngineException.FromUndescribedFailure(operation, status, e.Message);
            }
        }
    }
}
