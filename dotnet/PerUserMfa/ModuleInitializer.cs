using System;
using System.Management.Automation;
using System.Runtime.InteropServices;
using PerUserMfa.Native;

namespace PerUserMfa
{
    /// <summary>Runs when the module is imported: refuses a 32-bit process, for which no engine is
    /// built, with what to start instead; then loads the native engine from the module folder. A
    /// load failure does not stop the import; the first cmdlet that needs the engine reports it as
    /// a clear error record (the loader tries again before the first native call).</summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport()
        {
            NativeLibraryLoader.ThrowIfUnsupportedProcess(
                NativeLibraryLoader.CurrentOs(), RuntimeInformation.ProcessArchitecture, Environment.Is64BitOperatingSystem);
            NativeLibraryLoader.TryEnsureLoaded(out _);
        }
    }
}
