using System;
using System.Collections.Generic;
using System.Threading;
using PerUserMfa.Engine;

namespace PerUserMfa.Tests.Fakes
{
    /// <summary>A scripted engine job: pushes and closing the input enqueue events; Next hands them
    /// out, then Done once the input is closed and the queue is empty.</summary>
    internal sealed class FakeEngineJob : IEngineJob
    {
        private readonly object _lock = new object();
        private readonly Queue<string> _events = new Queue<string>();
        private bool _inputClosed;

        public FakeEngineJob(string request)
        {
            Request = request;
        }

        public string Request { get; }

        /// <summary>Events to enqueue for each push (default: one userState per id).</summary>
        public Func<IReadOnlyList<string>, IEnumerable<string>> OnPush { get; set; } = ids => DefaultUserStates(ids);

        /// <summary>Events to enqueue when the input closes.</summary>
        public Func<IEnumerable<string>> OnCloseInput { get; set; } = () => Array.Empty<string>();

        /// <summary>When set, the job never reports Done (to test cancellation).</summary>
        public bool NeverFinishes { get; set; }

        /// <summary>Thrown from Push when set.</summary>
        public Exception? PushFailure { get; set; }

        public List<List<string>> Pushes { get; } = new List<List<string>>();

        /// <summary>Events to enqueue for each whole-document push (<c>{"changes":[...]}</c>).</summary>
        public Func<string, IEnumerable<string>> OnPushInput { get; set; } = _ => Array.Empty<string>();

        /// <summary>Every whole-document push, in order.</summary>
        public List<string> PushedInputs { get; } = new List<string>();

        public List<uint> NextTimeouts { get; } = new List<uint>();

        public int CancelCount;

        public bool InputClosed => _inputClosed;

        public bool Disposed { get; private set; }

        public void Enqueue(params string[] events)
        {
            lock (_lock)
            {
                foreach (var e in events)
                {
                    _events.Enqueue(e);
                }
            }
        }

        public void Push(IReadOnlyList<string> userIds)
        {
            if (Disposed)
            {
                throw new ObjectDisposedException(nameof(FakeEngineJob));
            }

            if (PushFailure != null)
            {
                throw PushFailure;
            }

            Pushes.Add(new List<string>(userIds));
            foreach (var e in OnPush(userIds))
            {
                Enqueue(e);
            }
        }

        public void PushInput(string inputJson)
        {
            if (Disposed)
            {
                throw new ObjectDisposedException(nameof(FakeEngineJob));
            }

            PushedInputs.Add(inputJson);
            foreach (var e in OnPushInput(inputJson))
            {
                Enqueue(e);
            }
        }

        public void CloseInput()
        {
            _inputClosed = true;
            foreach (var e in OnCloseInput())
            {
                Enqueue(e);
            }
        }

        public JobNextResult Next(uint timeoutMilliseconds, out EngineEvent? engineEvent)
        {
            NextTimeouts.Add(timeoutMilliseconds);
            engineEvent = null;
            lock (_lock)
            {
                if (_events.Count > 0)
                {
                    engineEvent = EngineEvent.Parse(_events.Dequeue());
                    return JobNextResult.Event;
                }

                if (_inputClosed && !NeverFinishes)
                {
                    return JobNextResult.Done;
                }
            }

            if (timeoutMilliseconds > 0)
            {
                Thread.Sleep((int)timeoutMilliseconds);
            }

            return JobNextResult.Timeout;
        }

        public void Cancel() => Interlocked.Increment(ref CancelCount);

        public void Dispose() => Disposed = true;

        public static IEnumerable<string> DefaultUserStates(IReadOnlyList<string> ids)
        {
            foreach (var id in ids)
            {
                yield return UserStateJson(id);
            }
        }

        public static string UserStateJson(string target, string state = "enabled") =>
            "{\"type\":\"userState\",\"target\":" + Quote(target) + ",\"id\":" + Quote("id-" + target) +
            ",\"userPrincipalName\":" + Quote(target.Contains('@') ? target : target + "@contoso.com") +
            ",\"displayName\":" + Quote("Name " + target) + ",\"perUserMfaState\":\"" + state + "\"}";

        public static string ChangeResultJson(string target, string previous, string requested, string state, bool changed) =>
            "{\"type\":\"changeResult\",\"target\":" + Quote(target) + ",\"id\":" + Quote("id-" + target) +
            ",\"userPrincipalName\":" + Quote(target) + ",\"displayName\":\"D\",\"previousState\":\"" + previous +
            "\",\"state\":\"" + state + "\",\"requestedState\":\"" + requested + "\",\"changed\":" + (changed ? "true" : "false") + "}";

        public static string ErrorJson(string type, string target, string errorId, string category, string message) =>
            "{\"type\":\"" + type + "\",\"target\":" + Quote(target) + ",\"errorId\":\"" + errorId + "\",\"category\":\"" + category +
            "\",\"message\":" + Quote(message) + ",\"status\":404,\"graphCode\":\"Request_ResourceNotFound\",\"requestId\":\"rid-1\"}";

        private static string Quote(string s) => PerUserMfa.Json.JsonWriter.Serialize(s);
    }
}
