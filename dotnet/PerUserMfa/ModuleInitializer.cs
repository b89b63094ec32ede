using System.Management.Automation;
using PerUserMfa.Native;

namespace PerUserMfa
{
    /// <summary>Runs when the module is imported: loads the native engine from the module folder. A
    /// failure does not stop the import; the first cmdlet that needs the engine reports it as a
    /// clear error record (the loader tries again before the first native call).</summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport() => NativeLibraryLoader.TryEnsureLoaded(out _);
    }
}
