namespace PerUserMfa.Cmdlets
{
    /// <summary>Where Get-Help -Online sends an admin: the module's own pages (docs/help), not Graph's.
    /// The help files name the same pages as their first related link.</summary>
    internal static class HelpUris
    {
        public const string Pages = "https://github.com/PerUserMfa/PerUserMfa/blob/main/docs/help/";
    }
}
