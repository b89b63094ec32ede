using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Security;
using PerUserMfa.Cmdlets;
using PerUserMfa.Connection;
using PerUserMfa.Engine;
using Xunit;

namespace PerUserMfa.Tests.Cmdlets
{
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class ConnectionStateCollection
    {
        /// <summary>Tests that swap the process-wide <see cref="Connector.OpenSession"/> run alone.</summary>
        public const string Name = "Process-wide connection";
    }

    /// <summary>
    /// A real runspace with the module's cmdlets, made per test. It starts with no connection (connections
    /// are per runspace) and, when disposed, puts the process-wide <see cref="Connector.OpenSession"/> back
    /// and disconnects, so a test class that uses it belongs to the <see cref="ConnectionStateCollection"/>.
    /// </summary>
    internal sealed class CmdletRunspace : IDisposable
    {
        private readonly Func<string, string, SecureString?, IEngineSession> _originalOpener = Connector.OpenSession;

        /// <param name="host">A host that answers prompts and records host output; null for the default host.</param>
        public CmdletRunspace(PSHost? host = null)
        {
            var state = InitialSessionState.CreateDefault();
            foreach (var (name, type) in ModuleCmdlets())
            {
                state.Commands.Add(new SessionStateCmdletEntry(name, type, null));
            }

            Runspace = host == null ? RunspaceFactory.CreateRunspace(state) : RunspaceFactory.CreateRunspace(host, state);
            Runspace.Open();
        }

        public Runspace Runspace { get; }

        /// <summary>This runspace's connection (what its cmdlets use).</summary>
        public ConnectionContext Connection => ConnectionContext.For(Runspace);

        public void SetVariable(string name, object value) => Runspace.SessionStateProxy.SetVariable(name, value);

        /// <summary>Sets a variable to the text as a SecureString (the cmdlets take secrets only that way).</summary>
        public void SetSecret(string name, string text)
        {
            var secure = new SecureString();
            foreach (var c in text)
            {
                secure.AppendChar(c);
            }

            SetVariable(name, secure);
        }

        /// <summary>Runs a script; its output, error records and information records.</summary>
        public Collection<PSObject> Run(string script, out List<ErrorRecord> errors, out List<InformationRecord> information)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = Runspace;
            ps.AddScript(script);
            var output = ps.Invoke();
            errors = ps.Streams.Error.ToList();
            information = ps.Streams.Information.ToList();
            return output;
        }

        public Collection<PSObject> Run(string script, out List<ErrorRecord> errors) => Run(script, out errors, out _);

        /// <summary>Runs a script expected to write no error record.</summary>
        public Collection<PSObject> Run(string script)
        {
            var output = Run(script, out var errors);
            Assert.Empty(errors);
            return output;
        }

        /// <summary>Runs a script expected to stop with a terminating error and returns it.</summary>
        public ErrorRecord RunTerminating(string script)
        {
            var output = Run("$Error.Clear(); try { " + script + "; 'not stopped' } catch { $_; $Error.Count }", out _);
            Assert.Equal(2, output.Count);
            Assert.Equal(1, output[1].BaseObject);
            return Assert.IsType<ErrorRecord>(output[0].BaseObject);
        }

        public void Dispose()
        {
            Connector.OpenSession = _originalOpener;
            Connection.DisconnectSession();
            Runspace.Dispose();
        }

        /// <summary>Every cmdlet the module assembly exports, named as Import-Module names it.</summary>
        private static IEnumerable<(string Name, Type Type)> ModuleCmdlets() =>
            from type in typeof(JobCmdletBase).Assembly.GetExportedTypes()
            where !type.IsAbstract
            let attribute = type.GetCustomAttribute<CmdletAttribute>()
            where attribute != null
            select (attribute.VerbName + "-" + attribute.NounName, type);
    }
}
