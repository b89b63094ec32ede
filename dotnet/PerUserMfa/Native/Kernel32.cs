using System;
using System.Runtime.InteropServices;

namespace PerUserMfa.Native
{
    /// <summary>The one Win32 call Windows PowerShell 5.1 (.NET Framework) needs to pre-load the engine.</summary>
    internal static class Kernel32
    {
        /// <summary>Resolve the library's own dependencies from its folder, not the process's.</summary>
        internal const uint LOAD_WITH_ALTERED_SEARCH_PATH = 0x00000008;

        [DllImport("kernel32.dll", EntryPoint = "LoadLibraryExW", CharSet = CharSet.Unicode, SetLastError = true, ExactSpelling = true)]
        internal static extern IntPtr LoadLibraryEx(string fileName, IntPtr reserved, uint flags);
    }
}
