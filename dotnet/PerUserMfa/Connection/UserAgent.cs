using System.Collections;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace PerUserMfa.Connection
{
    /// <summary>The User-Agent the engine sends: <c>PerUserMfa/&lt;module version&gt; (PowerShell &lt;PSVersion&gt;; &lt;OS&gt;)</c>.</summary>
    internal static class UserAgent
    {
        public static string Build(string moduleVersion, string powerShellVersion, string operatingSystem) =>
            $"PerUserMfa/{moduleVersion} (PowerShell {powerShellVersion}; {operatingSystem})";

        /// <summary>The User-Agent for a cmdlet's session.</summary>
        public static string For(PSCmdlet cmdlet) => Build(ModuleVersion(), PowerShellVersion(cmdlet), OperatingSystemName());

        /// <summary>The assembly's informational version (what build.ps1 stamped, prerelease label
        /// included), without any <c>+metadata</c>.</summary>
        public static string ModuleVersion()
        {
            var assembly = typeof(UserAgent).Assembly;
            var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            if (!string.IsNullOrEmpty(informational))
            {
                var plus = informational!.IndexOf('+');
                return plus >= 0 ? informational.Substring(0, plus) : informational;
            }

            return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        }

        /// <summary><c>$PSVersionTable.PSVersion</c> of the running host (not SMA's assembly version, which is 3.0.0.0 on 5.1).</summary>
        public static string PowerShellVersion(PSCmdlet cmdlet)
        {
            var table = cmdlet.SessionState.PSVariable.GetValue("PSVersionTable") as Hashtable;
            return table?["PSVersion"]?.ToString() ?? "unknown";
        }

        public static string OperatingSystemName()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return "Windows";
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                return "macOS";
            }

            return RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "Linux" : RuntimeInformation.OSDescription.Trim();
        }
    }
}
