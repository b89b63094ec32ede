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
        public static PSObject CreateUserState(UserStateEvent userState)
        {
            return NewUser(UserStateTypeName, userState, userState.PerUserMfaState);
        }

        /// <summary>A new object of <paramref name="typeName"/> with the properties every per-user object starts
        /// with: UserPrincipalName, DisplayName, Id, PerUserMfaState (as shown). The caller adds the rest.</summary>
        public static PSObject NewUser(string typeName, UserEvent user, string? perUserMfaState)
        {
            var result = New(typeName);
            Add(result, "UserPrincipalName", user.UserPrincipalName);
            Add(result, "DisplayName", user.DisplayName);
            Add(result, "Id", user.Id);
            Add(result, "PerUserMfaState", StateText.ToDisplay(perUserMfaState));
            return result;
        }

        /// <summary><c>changeResult</c> → UserPrincipalName, DisplayName, Id, PreviousState, RequestedState, State, Changed.</summary>
        public static PSObject CreateChangeResult(ChangeResultEvent changeResult)
        {
            var previous = changeResult.PreviousState;
            var state = changeResult.State;
            var changed = changeResult.Changed
                ?? (previous != null && state != null && !string.Equals(previous, state, StringComparison.OrdinalIgnoreCase));

            var result = New(ChangeResultTypeName);
            Add(result, "UserPrincipalName", changeResult.UserPrincipalName);
            Add(result, "DisplayName", changeResult.DisplayName);
            Add(result, "Id", changeResult.Id);
            Add(result, "PreviousState", StateText.ToDisplay(previous));
            Add(result, "RequestedState", StateText.ToDisplay(changeResult.RequestedState));
            Add(result, "State", StateText.ToDisplay(state));
            Add(result, "Changed", changed);
            return result;
        }

        /// <summary>A bulk change's result: the <see cref="CreateChangeResult(ChangeResultEvent)"/> properties,
        /// then JournalPath (null when no journal was written).</summary>
        public static PSObject CreateChangeResult(ChangeResultEvent changeResult, string? journalPath)
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

        /// <summary>Appends a note property (properties keep the order they are added in).</summary>
        public static void Add(PSObject target, string name, object? value) =>
            target.Properties.Add(new PSNoteProperty(name, value));
    }
}
