using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace PerUserMfa.Input
{
    /// <summary>What one input object says about the user it names: the user id to send, or why it
    /// names none.</summary>
    internal sealed class UserInput
    {
        private UserInput(string? userId, PerUserMfaException? problem, bool stopsTheCommand)
        {
            UserId = userId;
            Problem = problem;
            StopsTheCommand = stopsTheCommand;
        }

        /// <summary>An object id or user principal name, as the engine takes it.</summary>
        public string? UserId { get; }

        /// <summary>Why there is no user id.</summary>
        public PerUserMfaException? Problem { get; }

        /// <summary>The object has no column PerUserMfa can use (or only a mail address): every other row of
        /// the same input fails the same way, so the command stops with one error instead of one per row.</summary>
        public bool StopsTheCommand { get; }

        public static UserInput Of(string userId) => new UserInput(userId, null, false);

        public static UserInput RowProblem(PerUserMfaException problem) => new UserInput(null, problem, false);

        public static UserInput ShapeProblem(PerUserMfaException problem) => new UserInput(null, problem, true);
    }

    /// <summary>
    /// Reads the user an input object names, as admins pipe them in: strings (object ids or UPNs),
    /// Get-MgUser and Get-PerUserMfaState output, Import-Csv rows and hashtables whose column is
    /// named the way exports name it. An object id wins over a UPN; an empty value falls back to
    /// the next column, so a CSV with an empty Id next to a filled UserPrincipalName still works.
    /// A GUID in braces is an object id. A mail address is refused: it is often not the UPN, and
    /// guessing would read (or change) another account.
    /// </summary>
    internal static class UserInputReader
    {
        /// <summary>Columns that hold an object id (checked first).</summary>
        public static readonly string[] IdProperties = { "Id", "ObjectId", "UserId" };

        /// <summary>Columns that hold a user principal name.</summary>
        public static readonly string[] NameProperties = { "UserPrincipalName", "UPN", "Username", "User" };

        /// <summary>Columns that hold a mail address, which is not a UPN.</summary>
        public static readonly string[] MailProperties = { "Mail", "Email", "EmailAddress", "PrimarySmtpAddress" };

        private static readonly string Expected = string.Join(", ", IdProperties.Concat(NameProperties));

        public static UserInput Read(object? input)
        {
            var value = input is PSObject wrapped ? wrapped.BaseObject : input;
            switch (value)
            {
                case null:
                    return UserInput.RowProblem(Problem("A user was $null. Pass object ids or user principal names.", "UserInputEmpty", null));
                case string text:
                    return FromText(text, text);
                case Guid guid:
                    return UserInput.Of(guid.ToString("D"));
                case IDictionary dictionary:
                    return FromColumns(input!, dictionary.Keys.Cast<object>().Select(k => k?.ToString() ?? string.Empty).ToList(),
                        name => Lookup(dictionary, name));
            }

            if (value.GetType().IsPrimitive || value is decimal)
            {
                return UserInput.ShapeProblem(Problem(
                    $"'{value}' ({value.GetType().Name}) is not a user. Pass object ids or user principal names, or objects with one of the properties {Expected}.",
                    "UserInputNotRecognized", value));
            }

            var properties = PSObject.AsPSObject(input).Properties;
            return FromColumns(input!, properties.Select(p => p.Name).ToList(), name => SafeValue(properties, name));
        }

        /// <summary>The string form of a user id: trimmed, and a GUID in braces or parentheses without them.</summary>
        public static string Normalize(string userId)
        {
            var trimmed = userId.Trim();
            if (trimmed.Length == 38 && ((trimmed[0] == '{' && trimmed[37] == '}') || (trimmed[0] == '(' && trimmed[37] == ')'))
                && Guid.TryParse(trimmed.Substring(1, 36), out var guid))
            {
                return guid.ToString("D");
            }

            return trimmed;
        }

        /// <summary>The key under which two spellings of one user id compare equal: object ids and UPNs are
        /// case-insensitive in Entra ID.</summary>
        public static string Key(string userId) => Normalize(userId).ToUpperInvariant();

        private static UserInput FromText(string text, object target)
        {
            var userId = Normalize(text);
            return userId.Length == 0
                ? UserInput.RowProblem(Problem("A user id was empty. Pass object ids or user principal names.", "UserInputEmpty", target))
                : UserInput.Of(userId);
        }

        private static UserInput FromColumns(object input, IList<string> found, Func<string, object?> valueOf)
        {
            var present = new List<string>();
            foreach (var name in IdProperties.Concat(NameProperties))
            {
                if (!found.Any(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                present.Add(name);
                var value = valueOf(name);
                var text = (value is PSObject p ? p.BaseObject : value)?.ToString();
                if (!string.IsNullOrWhiteSpace(text))
                {
                    return UserInput.Of(Normalize(text!));
                }
            }

            if (present.Count > 0)
            {
                return UserInput.RowProblem(Problem(
                    $"The input {Describe(input)} has {string.Join(" and ", present)}, but {(present.Count == 1 ? "it is" : "they are")} empty, so it names no user. Fill in the object id or user principal name.",
                    "UserInputEmpty", input));
            }

            var mail = MailProperties.FirstOrDefault(m => found.Any(f => string.Equals(f, m, StringComparison.OrdinalIgnoreCase)));
            if (mail != null)
            {
                return UserInput.ShapeProblem(Problem(
                    $"The input has a {mail} column but no user principal name or object id. A mail address is not a user principal name (they often differ, and guessing could reach another account), so PerUserMfa does not use it. " +
                    $"Add a UserPrincipalName or Id column, for example: Import-Csv users.csv | ForEach-Object {{ Get-MgUser -Filter \"mail eq '$($_.{mail})'\" }} | Get-PerUserMfaState.",
                    "UserInputIsMail", input));
            }

            var shown = found.Count == 0 ? "no properties" : "the properties " + string.Join(", ", found.Take(12)) + (found.Count > 12 ? $" (and {found.Count - 12} more)" : string.Empty);
            return UserInput.ShapeProblem(Problem(
                $"The input {Describe(input)} has {shown}, none of which names a user. PerUserMfa takes strings (object ids or user principal names) or objects with one of the properties {Expected}. " +
                "Rename the column (Select-Object @{ Name = 'UserPrincipalName'; Expression = { $_.YourColumn } }) or pass -UserId.",
                "UserInputNotRecognized", input));
        }

        private static string Describe(object input)
        {
            var value = input is PSObject p ? p.BaseObject : input;
            return value is PSCustomObject || value is IDictionary ? "object" : $"object of type {value.GetType().FullName}";
        }

        private static object? Lookup(IDictionary dictionary, string name)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                if (string.Equals(entry.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                {
                    return entry.Value;
                }
            }

            return null;
        }

        private static object? SafeValue(PSMemberInfoCollection<PSPropertyInfo> properties, string name)
        {
            try
            {
                return properties[name]?.Value;
            }
            catch (GetValueException)
            {
                // A property whose getter throws (some .NET objects) names nothing.
                return null;
            }
        }

        private static PerUserMfaException Problem(string message, string errorId, object? target) =>
            new PerUserMfaException(message, errorId, ErrorCategory.InvalidArgument) { Target = target?.ToString() };
    }
}
