using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace PerUserMfa.Tests.Fakes
{
    /// <summary>A host that records confirmation prompts (ShouldProcess → PromptForChoice) and answers them.</summary>
    internal sealed class PromptingHost : PSHost
    {
        private readonly PromptingHostUI _ui = new PromptingHostUI();

        /// <summary>Prompts so far: caption and message.</summary>
        public List<(string Caption, string Message)> Prompts => _ui.Prompts;

        /// <summary>The choice to answer: 0 Yes, 1 Yes to All, 2 No, 3 No to All.</summary>
        public int Answer
        {
            get => _ui.Answer;
            set => _ui.Answer = value;
        }

        /// <summary>How long the "admin" takes to answer each prompt.</summary>
        public TimeSpan AnswerDelay
        {
            get => _ui.AnswerDelay;
            set => _ui.AnswerDelay = value;
        }

        /// <summary>Everything written to the host (Write-Host, What if: lines).</summary>
        public List<string> Written => _ui.Written;

        public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;

        public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;

        public override Guid InstanceId { get; } = Guid.NewGuid();

        public override string Name => "PromptingHost";

        public override PSHostUserInterface UI => _ui;

        public override Version Version => new Version(1, 0);

        public override void EnterNestedPrompt() => throw new NotSupportedException();

        public override void ExitNestedPrompt() => throw new NotSupportedException();

        public override void NotifyBeginApplication()
        {
        }

        public override void NotifyEndApplication()
        {
        }

        public override void SetShouldExit(int exitCode)
        {
        }

        private sealed class PromptingHostUI : PSHostUserInterface
        {
            public List<(string Caption, string Message)> Prompts { get; } = new List<(string, string)>();

            public List<string> Written { get; } = new List<string>();

            public int Answer { get; set; }

            public TimeSpan AnswerDelay { get; set; }

            public override PSHostRawUserInterface RawUI => null!;

            public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
            {
                Prompts.Add((caption, message));
                System.Threading.Thread.Sleep(AnswerDelay);
                return Answer;
            }

            public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();

            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();

            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();

            public override string ReadLine() => throw new NotSupportedException();

            public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();

            public override void Write(string value) => Written.Add(value);

            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Written.Add(value);

            public override void WriteLine(string value) => Written.Add(value);

            public override void WriteDebugLine(string message) => Written.Add(message);

            public override void WriteErrorLine(string value) => Written.Add(value);

            public override void WriteProgress(long sourceId, ProgressRecord record)
            {
            }

            public override void WriteVerboseLine(string message) => Written.Add(message);

            public override void WriteWarningLine(string message) => Written.Add(message);
        }
    }
}
