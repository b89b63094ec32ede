using System;
using System.Collections;
using System.Collections.Generic;

namespace PerUserMfa.Json
{
    /// <summary>
    /// A JSON object that keeps its members in document order (the engine puts <c>type</c> first,
    /// and output order is part of the contract). Values are <c>null</c>, <see cref="bool"/>,
    /// <see cref="long"/>, <see cref="double"/>, <see cref="string"/>, <see cref="JsonObject"/>
    /// or <see cref="List{T}"/> of those.
    /// </summary>
    internal sealed class JsonObject : IEnumerable<KeyValuePair<string, object?>>
    {
        private readonly List<KeyValuePair<string, object?>> _members = new List<KeyValuePair<string, object?>>();
        private readonly Dictionary<string, int> _index = new Dictionary<string, int>(StringComparer.Ordinal);

        public int Count => _members.Count;

        public IEnumerable<string> Keys
        {
            get
            {
                foreach (var member in _members)
                {
                    yield return member.Key;
                }
            }
        }

        /// <summary>Gets a member's value (null when absent) or sets it (a repeated name replaces the value in place).</summary>
        public object? this[string name]
        {
            get => TryGetValue(name, out var value) ? value : null;
            set => Add(name, value);
        }

        /// <summary>Adds a member; a name that is already present keeps its position and takes the new value.</summary>
        public void Add(string name, object? value)
        {
            if (name == null)
            {
                throw new ArgumentNullException(nameof(name));
            }

            if (_index.TryGetValue(name, out var position))
            {
                _members[position] = new KeyValuePair<string, object?>(name, value);
            }
            else
            {
                _index[name] = _members.Count;
                _members.Add(new KeyValuePair<string, object?>(name, value));
            }
        }

        public bool ContainsKey(string name) => _index.ContainsKey(name);

        public bool TryGetValue(string name, out object? value)
        {
            if (_index.TryGetValue(name, out var position))
            {
                value = _members[position].Value;
                return true;
            }

            value = null;
            return false;
        }

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _members.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
