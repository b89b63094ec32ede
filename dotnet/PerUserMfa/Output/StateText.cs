namespace PerUserMfa.Output
{
    /// <summary>How states read in PowerShell: Graph's lower-case wire values capitalised.</summary>
    internal static class StateText
    {
        /// <summary><c>disabled</c>→<c>Disabled</c>, <c>enabled</c>→<c>Enabled</c>, <c>enforced</c>→<c>Enforced</c>
        /// (any letter case); any other value, including null and values Graph adds later
        /// (<c>unknownFutureValue</c>), is passed through exactly as given.</summary>
        public static string? ToDisplay(string? wireState)
        {
            if (wireState == null)
            {
                return null;
            }

            switch (wireState.ToLowerInvariant())
            {
                case "disabled":
                    return nameof(PerUserMfaState.Disabled);
                case "enabled":
                    return nameof(PerUserMfaState.Enabled);
                case "enforced":
                    return nameof(PerUserMfaState.Enforced);
                default:
                    return wireState;
            }
        }
    }
}
