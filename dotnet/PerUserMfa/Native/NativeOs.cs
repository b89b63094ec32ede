namespace PerUserMfa.Native
{
    /// <summary>The operating systems the engine is built for; each has its own RID prefix and file name.</summary>
    internal enum NativeOs
    {
        Windows,
        Linux,
        OSX,
    }
}
