using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;
using PerUserMfa.Native;
using Xunit;

namespace PerUserMfa.Tests.Native
{
    public class NativeLibraryLoaderTests
    {
        [Theory]
        [InlineData("Windows", Architecture.X64, "win-x64")]
        [InlineData("Windows", Architecture.Arm64, "win-arm64")]
        [InlineData("Windows", Architecture.X86, "win-x86")]
        [InlineData("Linux", Architecture.X64, "linux-x64")]
        [InlineData("Linux", Architecture.Arm64, "linux-arm64")]
        [InlineData("Linux", Architecture.Arm, "linux-arm")]
        [InlineData("OSX", Architecture.X64, "osx-x64")]
        [InlineData("OSX", Architecture.Arm64, "osx-arm64")]
        public void Computes_the_RID(string os, Architecture architecture, string expected) =>
            Assert.Equal(expected, NativeLibraryLoader.GetRuntimeIdentifier(Enum.Parse<NativeOs>(os), architecture));

        [Fact]
        public void Refuses_an_architecture_it_has_no_engine_for()
        {
            var e = Assert.Throws<PerUserMfaException>(() => NativeLibraryLoader.GetRuntimeIdentifier(NativeOs.Linux, (Architecture)42));
            Assert.Equal("PlatformNotSupported", e.ErrorId);
        }

        [Theory]
        [InlineData("Windows", Architecture.X64, true)]
        [InlineData("Windows", Architecture.Arm64, true)]
        [InlineData("Linux", Architecture.X64, true)]
        [InlineData("OSX", Architecture.Arm64, true)]
        public void Accepts_a_64_bit_process(string os, Architecture architecture, bool is64BitOs) =>
            NativeLibraryLoader.ThrowIfUnsupportedProcess(Enum.Parse<NativeOs>(os), architecture, is64BitOs);

        [Fact]
        public void Refuses_a_32_bit_PowerShell_on_64_bit_Windows_saying_which_to_start()
        {
            var e = Assert.Throws<PerUserMfaException>(() => NativeLibraryLoader.ThrowIfUnsupportedProcess(NativeOs.Windows, Architecture.X86, true));
            Assert.Equal("UnsupportedProcessArchitecture", e.ErrorId);
            Assert.Contains("32-bit PowerShell", e.Message);
            Assert.Contains(@"System32\WindowsPowerShell\v1.0\powershell.exe", e.Message);
        }

        [Theory]
        [InlineData("Windows", Architecture.X86, false, "64-bit operating system")]
        [InlineData("Linux", Architecture.Arm, false, "64-bit operating system")]
        [InlineData("Linux", (Architecture)42, true, "x64 and arm64")]
        public void Refuses_other_processes_it_has_no_engine_for(string os, Architecture architecture, bool is64BitOs, string expected)
        {
            var e = Assert.Throws<PerUserMfaException>(() => NativeLibraryLoader.ThrowIfUnsupportedProcess(Enum.Parse<NativeOs>(os), architecture, is64BitOs));
            Assert.Contains(expected, e.Message);
        }

        [Theory]
        [InlineData("Windows", "perusermfa_engine.dll")]
        [InlineData("Linux", "libperusermfa_engine.so")]
        [InlineData("OSX", "libperusermfa_engine.dylib")]
        public void Names_the_file_per_OS_with_prefix_and_extension_exactly_once(string os, string expected) =>
            Assert.Equal(expected, NativeLibraryLoader.GetNativeFileName(Enum.Parse<NativeOs>(os)));

        [Fact]
        public void The_path_is_under_runtimes_rid_native_in_the_module_folder()
        {
            var moduleDir = Path.Combine(Path.GetTempPath(), "Modules", "PerUserMfa", "0.1.0");
            Assert.Equal(
                Path.Combine(moduleDir, "runtimes", "osx-arm64", "native", "libperusermfa_engine.dylib"),
                NativeLibraryLoader.GetNativeLibraryPath(moduleDir, "osx-arm64", NativeOs.OSX));
        }

        [Fact]
        public void The_current_process_maps_to_a_supported_RID()
        {
            var rid = NativeLibraryLoader.GetRuntimeIdentifier(NativeLibraryLoader.CurrentOs(), RuntimeInformation.ProcessArchitecture);
            Assert.Matches("^(win|linux|osx)-(x64|arm64|x86|arm)$", rid);
        }

        [Fact]
        public void Lists_only_the_RIDs_that_hold_an_engine_file()
        {
            var moduleDir = Directory.CreateTempSubdirectory("pumfa-loader-").FullName;
            try
            {
                Assert.Empty(NativeLibraryLoader.FindAvailableRuntimes(moduleDir));

                Touch(moduleDir, "win-x64", "perusermfa_engine.dll");
                Touch(moduleDir, "linux-x64", "libperusermfa_engine.so");
                Touch(moduleDir, "osx-arm64", "libperusermfa_engine.dylib");
                Directory.CreateDirectory(Path.Combine(moduleDir, "runtimes", "linux-arm64", "native"));
                Touch(moduleDir, "linux-musl-x64", "README.txt");

                Assert.Equal(new[] { "linux-x64", "osx-arm64", "win-x64" }, NativeLibraryLoader.FindAvailableRuntimes(moduleDir));
            }
            finally
            {
                Directory.Delete(moduleDir, recursive: true);
            }
        }

        [Fact]
        public void The_missing_library_message_names_the_RID_the_path_and_what_is_present()
        {
            var message = NativeLibraryLoader.DescribeMissingLibrary("linux-arm64", "/m/runtimes/linux-arm64/native/libperusermfa_engine.so", new[] { "linux-x64", "win-x64" });
            Assert.Contains("(linux-arm64)", message);
            Assert.Contains("'/m/runtimes/linux-arm64/native/libperusermfa_engine.so'", message);
            Assert.Contains("linux-x64, win-x64", message);

            var none = NativeLibraryLoader.DescribeMissingLibrary("win-x64", "C:\\m\\runtimes\\win-x64\\native\\perusermfa_engine.dll", Array.Empty<string>());
            Assert.Contains("no native engine", none);
        }

        [Fact]
        public void Loading_without_the_engine_beside_the_assembly_is_a_clear_error()
        {
            // The test output folder has runtimes/ (from the PowerShell SDK) but no engine in it.
            var assemblyDir = Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location)!;
            var os = NativeLibraryLoader.CurrentOs();
            var rid = NativeLibraryLoader.GetRuntimeIdentifier(os, RuntimeInformation.ProcessArchitecture);
            var expected = NativeLibraryLoader.GetNativeLibraryPath(assemblyDir, rid, os);
            Assert.False(File.Exists(expected), "the test output must not contain the engine");

            var e = Assert.Throws<PerUserMfaException>(NativeLibraryLoader.EnsureLoaded);
            Assert.Equal("NativeLibraryNotFound", e.ErrorId);
            Assert.Equal(ErrorCategory.NotInstalled, e.Category);
            Assert.Contains($"({rid})", e.Message);
            Assert.Contains($"'{expected}'", e.Message);
            Assert.False(NativeLibraryLoader.TryEnsureLoaded(out var error));
            Assert.IsType<PerUserMfaException>(error);
            Assert.Null(NativeLibraryLoader.LoadedPath);
        }

        private static void Touch(string moduleDir, string rid, string file)
        {
            var dir = Path.Combine(moduleDir, "runtimes", rid, "native");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, file), new byte[] { 0 });
        }
    }
}
