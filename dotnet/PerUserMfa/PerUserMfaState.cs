namespace PerUserMfa
{
    /// <summary>The per-user MFA states Microsoft Entra knows, for <c>Set-PerUserMfaState -State</c>
    /// (validation and tab completion come from the enum).</summary>
    public enum PerUserMfaState
    {
        /// <summary>Per-user MFA is off for the user.</summary>
        Disabled,

        /// <summary>The user is enrolled and will be asked to register MFA methods.</summary>
        Enabled,

        /// <summary>The user must use MFA (Entra moves Enabled users here once they register).</summary>
        Enforced,
    }
}
