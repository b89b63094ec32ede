using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace PerUserMfa.Native
{
    /// <summary>
    /// Finds and loads the engine from <c>&lt;module folder&gt;/runtimes/&lt;rid&gt;/native/</c>.
    /// <list type="bullet">
    /// <item>PowerShell 7 (.NET): a DllImportResolver for this assembly (registered through
    /// reflection, because the assembly targets netstandard2.0 where <c>NativeLibrary</c> does not
    /// exist) hands the runtime the library loaded from its full path.</item>
    /// <item>Windows PowerShell 5.1 (.NET Framework): the DLL is pre-loaded by full path with
    /// <c>LoadLibraryEx</c>, so the later DllImport by name binds to the module already in the process.</item>
    /// </list>
    /// The module folder is the folder of this assembly, never <c>AppContext.BaseDirectory</c>
    /// (that is <c>$PSHOME</c> inside PowerShell). Loading happens on import and again, lazily, before
    /// the first native call; a failure is a <see cref="PerUserMfaException"/> naming the RID, the
    /// expected path and the RIDs this copy of the module has.
    /// </summary>
    internal static class NativeLibraryLoader
    {
        internal const string LibraryName = "perusermfa_engine";

        private static readonly object s_gate = new object();
        private static volatile bool s_loaded;
        private static bool s_resolverRegistered;
        private static IntPtr s_handle;
        private static string? s_loadedPath;

        /// <summary>The full path the engine was loaded from, or null before it is loaded.</summary>
        internal static string? LoadedPath => s_loadedPath;

        /// <summary>Loads the engine once per process; later calls return at once. Throws
        /// <see cref="PerUserMfaException"/> with an admin-facing message when it cannot.</summary>
        internal static void EnsureLoaded()
        {
            if (s_loaded)
            {
                return;
            }

            lock (s_gate)
            {
                if (s_loaded)
                {
                    return;
                }

                var os = CurrentOs();
                var rid = GetRuntimeIdentifier(os, RuntimeInformation.ProcessArchitecture);
                var moduleDirectory = GetModuleDirectory();
                var path = GetNativeLibraryPath(moduleDirectory, rid, os);
                if (!File.Exists(path))
                {
                    throw new PerUserMfaException(
                        DescribeMissingLibrary(rid, path, FindAvailableRuntimes(moduleDirectory)),
                        "NativeLibraryNotFound",
                        ErrorCategory.NotInstalled);
                }

                var api = CoreNativeLibrary.TryGet();
                if (api != null)
                {
                    RegisterResolver(api);
                    s_handle = LoadOrThrow(path, () => api.Load(path));
                }
                else if (os == NativeOs.Windows)
                {
                    s_handle = LoadOrThrow(path, () => LoadWithKernel32(path));
                }

                // Elsewhere (a runtime with neither API) DllImport probes by name as usual.
                s_loadedPath = path;
                s_loaded = true;
            }
        }

        /// <summary>For module import: tries to load and reports a failure instead of throwing, so
        /// the module still imports and the first cmdlet that needs the engine reports the error.</summary>
        internal static bool TryEnsureLoaded(out Exception? error)
        {
            try
            {
                EnsureLoaded();
                error = null;
                return true;
            }
            catch (Exception e)
            {
                error = e;
                return false;
            }
        }

        internal static NativeOs CurrentOs()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return NativeOs.Windows;
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                return NativeOs.OSX;
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return NativeOs.Linux;
            }

            throw new PerUserMfaException(
                $"PerUserMfa runs on Windows, Linux and macOS; this operating system ({RuntimeInformation.OSDescription}) is not supported.",
                "PlatformNotSupported",
                ErrorCategory.NotImplemented);
        }

        /// <summary>Engines are built for x64 and arm64 only. A 32-bit process (Windows PowerShell
        /// (x86) or the x86 ISE, which 64-bit Windows also ships) gets a message saying which
        /// PowerShell to start instead of a missing-engine error at the first command.</summary>
        internal static void ThrowIfUnsupportedProcess(NativeOs os, Architecture architecture, bool is64BitOperatingSystem)
        {
            if (architecture == Architecture.X64 || architecture == Architecture.Arm64)
            {
                return;
            }

            string message;
            if (architecture != Architecture.X86 && architecture != Architecture.Arm)
            {
                message = $"PerUserMfa's native engine is built for x64 and arm64; this process runs on {architecture}.";
            }
            else if (os == NativeOs.Windows && is64BitOperatingSystem)
            {
                message = "This is a 32-bit PowerShell (such as Windows PowerShell (x86) or Windows PowerShell ISE (x86)), and PerUserMfa's native engine is 64-bit only. "
                    + @"Start the 64-bit Windows PowerShell (%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe, or ""Windows PowerShell"" without ""(x86)"" in the Start menu) or PowerShell 7, and import the module there.";
            }
            else
            {
                message = $"PerUserMfa needs a 64-bit operating system (x64 or arm64); this {(os == NativeOs.Windows ? "Windows" : os.ToString())} is 32-bit ({architecture}).";
            }

            throw new PerUserMfaException(message, "UnsupportedProcessArchitecture", ErrorCategory.NotImplemented);
        }

        /// <summary>The RID folder name: <c>win|linux|osx</c> plus <c>-x64|-arm64|-x86|-arm</c>.</summary>
        internal static string GetRuntimeIdentifier(NativeOs os, Architecture architecture)
        {
            var prefix = os switch
            {
                NativeOs.Windows => "win",
                NativeOs.Linux => "linux",
                NativeOs.OSX => "osx",
                _ => throw new ArgumentOutOfRangeException(nameof(os), os, null),
            };
            var suffix = architecture switch
            {
                Architecture.X64 => "x64",
                Architecture.Arm64 => "arm64",
                Architecture.X86 => "x86",
                Architecture.Arm => "arm",
                _ => throw new PerUserMfaException(
                    $"PerUserMfa has no native engine for the {architecture} processor architecture; it supports x64, arm64, x86 and arm.",
                    "PlatformNotSupported",
                    ErrorCategory.NotImplemented),
            };
            return prefix + "-" + suffix;
        }

        /// <summary>The engine's file name on <paramref name="os"/>.</summary>
        internal static string GetNativeFileName(NativeOs os) => os switch
        {
            NativeOs.Windows => LibraryName + ".dll",
            NativeOs.Linux => "lib" + LibraryName + ".so",
            NativeOs.OSX => "lib" + LibraryName + ".dylib",
            _ => throw new ArgumentOutOfRangeException(nameof(os), os, null),
        };

        internal static string GetNativeLibraryPath(string moduleDirectory, string rid, NativeOs os) =>
            Path.Combine(Path.Combine(Path.Combine(Path.Combine(moduleDirectory, "runtimes"), rid), "native"), GetNativeFileName(os));

        /// <summary>The RIDs under <c>runtimes/</c> whose <c>native</c> folder holds an engine file, sorted.</summary>
        internal static IReadOnlyList<string> FindAvailableRuntimes(string moduleDirectory)
        {
            var root = Path.Combine(moduleDirectory, "runtimes");
            if (!Directory.Exists(root))
            {
                return Array.Empty<string>();
            }

            var found = new List<string>();
            foreach (var ridDirectory in Directory.GetDirectories(root))
            {
                var native = Path.Combine(ridDirectory, "native");
                if (Directory.Exists(native) && Directory.GetFiles(native, "*" + LibraryName + ".*").Length > 0)
                {
                    found.Add(Path.GetFileName(ridDirectory));
                }
            }

            found.Sort(StringComparer.Ordinal);
            return found;
        }

        internal static string DescribeMissingLibrary(string rid, string expectedPath, IReadOnlyList<string> availableRuntimes)
        {
            var present = availableRuntimes.Count == 0
                ? "This copy of the module contains no native engine at all (no runtimes/<rid>/native folder); it is incomplete. Reinstall the module."
                : $"This copy of the module contains the engine for: {string.Join(", ", availableRuntimes)}. Install a PerUserMfa release that supports {rid}.";
            return $"The PerUserMfa native engine for this platform ({rid}) was not found at '{expectedPath}'. {present}";
        }

        private static string GetModuleDirectory()
        {
            var location = typeof(NativeLibraryLoader).Assembly.Location;
            var directory = string.IsNullOrEmpty(location) ? null : Path.GetDirectoryName(location);
            if (string.IsNullOrEmpty(directory))
            {
                throw new PerUserMfaException(
                    "The PerUserMfa assembly was not loaded from a file, so the folder with its native engine is unknown. Import the module by its manifest (PerUserMfa.psd1).",
                    "NativeLibraryNotFound",
                    ErrorCategory.NotInstalled);
            }

            return directory!;
        }

        private static IntPtr LoadOrThrow(string path, Func<IntPtr> load)
        {
            try
            {
                return load();
            }
            catch (Exception e) when (!(e is PerUserMfaException))
            {
                var inner = e is TargetInvocationException { InnerException: { } cause } ? cause : e;
                throw new PerUserMfaException(
                    $"The PerUserMfa native engine at '{path}' could not be loaded: {inner.Message}",
                    "NativeLibraryLoadFailed",
                    ErrorCategory.ResourceUnavailable,
                    inner);
            }
        }

        private static IntPtr LoadWithKernel32(string path)
        {
            var handle = Kernel32.LoadLibraryEx(Path.GetFullPath(path), IntPtr.Zero, Kernel32.LOAD_WITH_ALTERED_SEARCH_PATH);
            if (handle == IntPtr.Zero)
            {
                throw new Win32Exception(Marshal.GetLastWin32Error());
            }

            return handle;
        }

        private static void RegisterResolver(CoreNativeLibrary api)
        {
            if (s_resolverRegistered)
            {
                return;
            }

            var resolve = typeof(NativeLibraryLoader).GetMethod(nameof(Resolve), BindingFlags.NonPublic | BindingFlags.Static)!;
            try
            {
                api.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, resolve);
            }
            catch (InvalidOperationException)
            {
                // Already registered for this assembly (Import-Module -Force runs OnImport again).
            }

            s_resolverRegistered = true;
        }

        /// <summary>The DllImportResolver: the engine by name becomes the engine from the module folder;
        /// any other name falls back to the runtime's own probing (IntPtr.Zero).</summary>
        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (!string.Equals(libraryName, LibraryName, StringComparison.Ordinal))
            {
                return IntPtr.Zero;
            }

            return TryEnsureLoaded(out _) ? s_handle : IntPtr.Zero;
        }

        /// <summary><c>System.Runtime.InteropServices.NativeLibrary</c> reached by reflection (it exists on
        /// .NET Core 3.0 and later, not in netstandard2.0 or .NET Framework).</summary>
        private sealed class CoreNativeLibrary
        {
            private readonly MethodInfo _load;
            private readonly MethodInfo _setResolver;
            private readonly Type _resolverType;

            private CoreNativeLibrary(MethodInfo load, MethodInfo setResolver, Type resolverType)
            {
                _load = load;
                _setResolver = setResolver;
                _resolverType = resolverType;
            }

            internal static CoreNativeLibrary? TryGet()
            {
                var coreLib = typeof(object).Assembly;
                var nativeLibrary = coreLib.GetType("System.Runtime.InteropServices.NativeLibrary", throwOnError: false);
                var resolverType = coreLib.GetType("System.Runtime.InteropServices.DllImportResolver", throwOnError: false);
                if (nativeLibrary == null || resolverType == null)
                {
                    return null;
                }

                var load = nativeLibrary.GetMethod("Load", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string) }, null);
                var setResolver = nativeLibrary.GetMethod("SetDllImportResolver", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(Assembly), resolverType }, null);
                return load == null || setResolver == null ? null : new CoreNativeLibrary(load, setResolver, resolverType);
            }

            internal IntPtr Load(string path) => (IntPtr)_load.Invoke(null, new object[] { path })!;

            internal void SetDllImportResolver(Assembly assembly, MethodInfo resolve)
            {
                var callback = Delegate.CreateDelegate(_resolverType, resolve);
                try
                {
                    _setResolver.Invoke(null, new object[] { assembly, callback });
                }
                catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException again)
                {
                    throw again;
                }
            }
        }
    }
}
