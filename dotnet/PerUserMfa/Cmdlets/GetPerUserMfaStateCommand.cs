using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Input;
using PerUserMfa.Output;
using PerUserMfa.Report;

namespace PerUserMfa.Cmdlets
{
    /// <summary>Get-PerUserMfaState: a getStates job (listing, or pushed -UserId input), with -Detailed a report
    /// job. User help: docs/help/Get-PerUserMfaState.md.</summary>
    [Cmdlet(VerbsCommon.Get, "PerUserMfaState", DefaultParameterSetName = ListSet, HelpUri = HelpUris.Pages + "Get-PerUserMfaState.md")]
    [OutputType(OutputFactory.UserStateTypeName)]
    [OutputType(UserReportFactory.TypeName)]
    public sealed class GetPerUserMfaStateCommand : JobCmdletBase
    {
        private const string ListSet = "List";
        private const string UserIdSet = "UserId";

        /// <summary>Object ids or user principal names, or objects that carry one (Get-MgUser output, Import-Csv
        /// rows with an Id, ObjectId, UserId, UserPrincipalName, UPN, Username or User column).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = UserIdSet, ValueFromPipeline = true)]
        [Alias("Id", "UserPrincipalName", "ObjectId", "UPN")]
        public object[] UserId { get; set; } = null!;

        /// <summary>Every user (guests and unlicensed accounts too), not only licensed members.</summary>
        [Parameter(ParameterSetName = ListSet)]
        public SwitchParameter All { get; set; }

        /// <summary>The most Graph requests in flight at once (an upper bound: the engine adapts the working number to the round trip).</summary>
        [Parameter]
        [ValidateRange(1, 10000)]
        public int ThrottleLimit { get; set; }

        /// <summary>One PerUserMfa.UserReport per user: account, licence, admin, MFA registration, sign-in
        /// activity and password columns joined in (needs AuditLog.Read.All for the registration and sign-in
        /// columns; without it, or in an Entra ID Free tenant, those stay empty and one warning says why).</summary>
        [Parameter]
        public SwitchParameter Detailed { get; set; }

        /// <summary>With -Detailed: LastMfaSignIn and DaysSinceLastMfaSignIn from the sign-in logs (implies -Detailed).</summary>
        [Parameter]
        public SwitchParameter IncludeMfaSignIns { get; set; }

        /// <summary>With -Detailed: AuthenticationMethods, each registered method with its detail (phone numbers,
        /// email addresses, device names). One Graph request per user; needs UserAuthenticationMethod.Read.All
        /// (implies -Detailed).</summary>
        [Parameter]
        public SwitchParameter IncludeMethodDetails { get; set; }

        /// <summary>How many days of sign-in logs -IncludeMfaSignIns searches (1 to 30, default 30).</summary>
        [Parameter]
        [ValidateRange(1, 30)]
        public int SignInDays { get; set; } = 30;

        private bool IsReport => Detailed.IsPresent || IncludeMfaSignIns.IsPresent || IncludeMethodDetails.IsPresent;

        private string Request(string scope, int? throttleLimit) => IsReport
            ? EngineRequests.GetReport(scope, IncludeMfaSignIns.IsPresent, IncludeMethodDetails.IsPresent, SignInDays, throttleLimit)
            : EngineRequests.GetStates(scope, throttleLimit);

        /// <summary>Users already asked for, by <see cref="UserInputReader.Key"/>: a user given twice is read once.</summary>
        private readonly HashSet<string> _asked = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>Object ids already written: a user given by UPN and by object id comes out once.</summary>
        private readonly HashSet<string> _written = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (MyInvocation.BoundParameters.ContainsKey(nameof(SignInDays)) && !IncludeMfaSignIns.IsPresent)
            {
                WriteWarning("-SignInDays only applies with -IncludeMfaSignIns (it sets how many days of sign-in logs are searched); it is ignored here.");
            }
        }

        protected override void ProcessRecord()
        {
            var throttleLimit = BoundThrottleLimit(ThrottleLimit);
            if (ParameterSetName == UserIdSet)
            {
                var userIds = ReadUserIds(UserId).Where(id => _asked.Add(UserInputReader.Key(id))).ToList();
                var pump = GetPump(Request(EngineRequests.ScopeInput, throttleLimit));
                pump.Handler ??= SkipRepeatedUser;
                pump.Push(userIds);
            }
            else
            {
                // No input: the engine lists the users itself. (With empty pipeline input there is
                // no ProcessRecord call, so an empty CSV never turns into "list everybody".)
                var scope = All.IsPresent ? EngineRequests.ScopeAll : EngineRequests.ScopeLicensedMembers;
                var pump = GetPump(Request(scope, throttleLimit));
                var listed = 0;
                pump.Handler = engineEvent =>
                {
                    var user = engineEvent.Type == EngineEvent.UserState ? OutputFactory.CreateUserState(UserStateEvent.From(engineEvent))
                        : engineEvent.Type == EngineEvent.UserReport ? UserReportFactory.Create(UserReportEvent.From(engineEvent))
                        : null;
                    if (user == null)
                    {
                        return false;
                    }

                    ReportScope.Mark(user, All.IsPresent);
                    WriteObject(user);
                    listed++;
                    return true;
                };
                pump.Run();
                ReportScope.RecordListing(All.IsPresent, listed);
            }
        }

        protected override void EndProcessing() => CurrentPump?.Finish();

        /// <summary>Swallows a second result for an object id already written (the same user spelled two ways).</summary>
        private bool SkipRepeatedUser(EngineEvent engineEvent)
        {
            if (engineEvent.Type != EngineEvent.UserState && engineEvent.Type != EngineEvent.UserReport)
            {
                return false;
            }

            var id = engineEvent.Type == EngineEvent.UserState ? UserStateEvent.From(engineEvent).Id : UserReportEvent.From(engineEvent).Id;
            return !string.IsNullOrEmpty(id) && !_written.Add(id!);
        }
    }
}
