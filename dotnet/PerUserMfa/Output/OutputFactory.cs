using System;
using System.Management.Automation;
using PerUserMfa.Engine;

namespace PerUserMfa.Output
{
    /// <summary>
    /// The objects the cmdlets emit. Property names and order are a public contract (scripts,
    /// Export-Csv columns and the format views depend on them); the first type name selects the
    /// view in PerUserMfa.format.ps1xml.
    /// </summary>
    internal static class OutputFactory
    {
        public const string UserStateTypeName = "PerUserMfa.UserState";
        public const string ChangeResultTypeName = "PerUserMfa.ChangeResult";

        /// <summary><c>userState</c> → UserPrincipalName, DisplayName, Id, PerUserMfaState.</summary>
        public static PSObject CreateUserState(EngineEvent userState)
        {
            var result = New(UserStateTypeName);
            Add(result, "UserPrincipalName", userState.GetString("userPrincipalName"));
            Add(result, "DisplayName", userState.GetString("displayName"));
            Add(result, "Id", userState.GetString("id"));
            Add(result, "PerUserMfaState", StateText.ToDisplay(userState.GetString("perUserMfaState")));
            return result;
        }

        /// <summary><c>changeResult</c> → UserPrincipalName, DisplayName, Id, PreviousState, RequestedState, State, Changed.</summary>
        public static PSObject CreateChangeResult(EngineEvent changeResult)
        {
            var previous = changeResult.GetString("previousState");
            var state = changeResult.GetString("state");
            var changed = changeResult.GetBoolean("changed")
                ?? (previous != null && state != null && !string.Equals(previous, state, StringComparison.OrdinalIgnoreCase));

            var result = New(ChangeResultTypeName);
            Add(result, "UserPrincipalName", changeResult.GetString("userPrincipalName"));
            Add(result, "DisplayName", changeResult.GetString("displayName"));
            Add(result, "Id", changeResult.GetString("id"));
            Add(result, "PreviousState", StateText.ToDisplay(previous));
            Add(result, "RequestedState", StateText.ToDisplay(changeResult.GetString("requestedState")));
            Add(result, "State", StateText.ToDisplay(state));
            Add(result, "Changed", changed);
            return result;
        }

        /// <summary>A bulk change's result: the <see cref="CreateChangeResult(EngineEvent)"/> properties,
        /// then JournalPath (null when no journal was written).</summary>
        public static PSObject CreateChangeResult(EngineEvent changeResult, string? journalPath)
        {
            var result = CreateChangeResult(changeResult);
            Add(result, "JournalPath", journalPath);
            return result;
        }

        /// <summary>The result for a user the plan found already in the requested state, when no
        /// journal was needed.</summary>
        public static PSObject CreateChangeResult(Bulk.ChangeItem alreadyInState, string? journalPath)
        {
            var result = New(ChangeResultTypeName);
            var state = alreadyInState.CurrentState ?? alreadyInState.PreviousState;
            Add(result, "UserPrincipalName", alreadyInState.UserPrincipalName);
            Add(result, "DisplayName", alreadyInState.DisplayName);
            Add(result, "Id", alreadyInState.Id);
            Add(result, "PreviousState", StateText.ToDisplay(state));
            Add(result, "RequestedState", StateText.ToDisplay(alreadyInState.RequestedState));
            Add(result, "State", StateText.ToDisplay(state));
            Add(result, "Changed", false);
            Add(result, "JournalPath", journalPath);
            return result;
        }

        private static PSObject New(string typeName)
        {
            var result = new PSObject();
            result.TypeNames.Insert(0, typeName);
            return result;
        }

        private static void Add(PSObject target, string name, object? value) =>
            target.Properties.Add(new PSNoteProperty(name, value));
    }
}
