using System;
using System.Globalization;
using System.IO;

namespace PerUserMfa.Bulk
{
    /// <summary>Where journals go when the admin does not say: the folder in the environment variable
    /// PERUSERMFA_JOURNAL_DIR when it is set, else a per-user data folder that exists on every platform
    /// (Windows: %LOCALAPPDATA%\PerUserMfa\journals; Linux: ~/.local/share/PerUserMfa/journals;
    /// macOS: ~/Library/Application Support/PerUserMfa/journals, or wherever .NET puts
    /// LocalApplicationData there).</summary>
    internal static class JournalLocation
    {
        public const string Extension = ".jsonl";

        /// <summary>The environment variable that moves the default journal folder (a runbook's
        /// persistent share, a test run's temporary folder).</summary>
        public const string FolderVariable = "PERUSERMFA_JOURNAL_DIR";

        /// <summary>The default journal folder (not created here: the engine creates it with the journal).</summary>
        public static string DefaultFolder()
        {
            var moved = Environment.GetEnvironmentVariable(FolderVariable);
            if (!string.IsNullOrWhiteSpace(moved))
            {
                return Path.GetFullPath(moved!.Trim());
            }

            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            if (string.IsNullOrEmpty(root))
            {
                // No profile (some service accounts): still somewhere the user can write.
                root = Path.GetTempPath();
            }

            return Path.Combine(root, "PerUserMfa", "journals");
        }

        /// <summary><c>20260131T091502Z-set-Enforced-3f9a1c.jsonl</c>, <c>20260131T093000Z-undo-7b20e4.jsonl</c>.</summary>
        public static string FileName(DateTime utc, string operation, PerUserMfaState? state, string suffix)
        {
            var stamp = utc.ToUniversalTime().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            var statePart = state.HasValue ? "-" + state.Value : string.Empty;
            return $"{stamp}-{operation}{statePart}-{suffix}{Extension}";
        }

        /// <summary>The most recent journal of a run in the default folder (by the time in its name,
        /// then by the file's time), or null when there is none. Undo journals are left out unless
        /// they are the only kind: -Last undoes the latest change.</summary>
        public static string? Latest(string operation)
        {
            var folder = DefaultFolder();
            if (!Directory.Exists(folder))
            {
                return null;
            }

            string? latest = null;
            foreach (var file in Directory.GetFiles(folder, "*" + Extension))
            {
                var name = Path.GetFileName(file);
                var fields = name.Split('-');
                if (fields.Length < 2 || fields[1] != operation)
                {
                    continue;
                }

                if (latest == null || string.CompareOrdinal(name, Path.GetFileName(latest)) > 0)
                {
                    latest = file;
                }
            }

            return latest;
        }

        /// <summary>A fresh suffix so runs in the same second get different files.</summary>
        public static string NewSuffix() => Guid.NewGuid().ToString("N").Substring(0, 6);

        /// <summary>The journal file for a new run. <paramref name="given"/> is the admin's -JournalPath
        /// already resolved to a file-system path, or null: a file is used as it is; an existing folder
        /// (or a path ending in a separator) gets a generated file name inside it; null means the
        /// default folder.</summary>
        public static string Choose(string? given, string operation, PerUserMfaState? state, DateTime utc, string suffix)
        {
            var name = FileName(utc, operation, state, suffix);
            if (string.IsNullOrEmpty(given))
            {
                return Path.Combine(DefaultFolder(), name);
            }

            var endsWithSeparator = given!.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal)
                || given.EndsWith(Path.AltDirectorySeparatorChar.ToString(), StringComparison.Ordinal);
            return endsWithSeparator || Directory.Exists(given) ? Path.Combine(given, name) : given;
        }
    }
}
