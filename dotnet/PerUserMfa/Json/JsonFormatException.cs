using System;

namespace PerUserMfa.Json
{
    /// <summary>Text that is not valid JSON. <see cref="Position"/> is the offset (in UTF-16 code units) where reading stopped.</summary>
    internal sealed class JsonFormatException : FormatException
    {
        public JsonFormatException(string reason, int position)
            : base($"Invalid JSON at position {position}: {reason}.")
        {
            Reason = reason;
            Position = position;
        }

        public string Reason { get; }

        public int Position { get; }
    }
}
