#Requires -Modules Pester
<#
    End-to-end behaviour of the built module through the real stack:
    pwsh -> C# cmdlets -> P/Invoke -> Rust engine -> HTTP -> graph-sim.
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:sim = Start-GraphSim -Users 300 -Seed 11
    $script:truth = Get-SimUser -Sim $sim
    $script:writeToken = New-SimToken -Sim $sim -Roles (Get-WriteRoles)
    $script:readToken = New-SimToken -Sim $sim -Roles (Get-ReadRoles)
    # Set-PerUserMfaState journals every run; keep these tests' journals out of the user's data folder.
    $script:PSDefaultParameterValues = @{ 'Set-PerUserMfaState:JournalPath' = $TestDrive }

    function script:Get-TrueState([string] $User) {
        $users = Get-SimUser -Sim $sim
        $row = $users | Where-Object { $_.id -eq $User -or $_.userPrincipalName -eq $User }
        (Get-Culture).TextInfo.ToTitleCase($row.perUserMfaState)
    }
    function script:ConvertTo-DisplayState([string] $GraphValue) {
        $GraphValue.Substring(0, 1).ToUpperInvariant() + $GraphValue.Substring(1)
    }
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'The module' {
    It 'exports exactly its cmdlets' {
        $names = (Get-Command -Module PerUserMfa).Name | Sort-Object
        $names | Should -Be @('Connect-PerUserMfa', 'Disconnect-PerUserMfa', 'Export-PerUserMfaReport', 'Get-PerUserMfaConnection', 'Get-PerUserMfaState', 'Set-PerUserMfaState', 'Test-PerUserMfaMigration', 'Undo-PerUserMfaChange')
    }

    It 'uses approved verbs only' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module PerUserMfa) { $approved | Should -Contain $command.Verb }
    }

    It 'ships the native engine under runtimes/<rid>/native' {
        $moduleDir = Split-Path $env:PUMFA_TEST_MODULE
        @(Get-ChildItem (Join-Path $moduleDir 'runtimes/*/native/*perusermfa_engine*')).Count | Should -BeGreaterThan 0
    }

    It 'loads the engine from the module folder, not from the current directory' {
        # The files of the loaded engine. On macOS .NET's Process.Modules lists only the main
        # executable, so ask lsof there.
        $loadedEngine = {
            if ($IsMacOS) {
                @(lsof -p $PID -Fn 2>$null | Where-Object { $_ -like 'n*perusermfa_engine*' } | ForEach-Object { $_.Substring(1) })
            }
            else {
                @([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object ModuleName -Like '*perusermfa_engine*' | ForEach-Object FileName)
            }
        }
        $native = @(& $loadedEngine)
        # The engine loads on first use; make sure it has been used by now.
        if (-not $native) {
            Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $sim.Url
            $native = @(& $loadedEngine)
        }
        $native | Should -Not -BeNullOrEmpty
        $native[0] | Should -BeLike "$(Split-Path $env:PUMFA_TEST_MODULE)*runtimes*native*"
    }
}

Describe 'Before connecting' {
    BeforeAll { Disconnect-PerUserMfa }

    It '<Command> stops with one clear error' -TestCases @(
        @{ Command = 'Get-PerUserMfaState'; Arguments = @{} }
        @{ Command = 'Set-PerUserMfaState'; Arguments = @{ UserId = 'adele.vance@contoso.com'; State = 'Enabled'; Confirm = $false } }
    ) {
        $caught = $null
        try { & $Command @Arguments } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.NotConnected*'
        $caught.Exception.Message | Should -BeLike '*Connect-PerUserMfa*'
    }

    It 'suggests the main path: Connect-MgGraph, then Connect-PerUserMfa' {
        $caught = $null
        try { Get-PerUserMfaState } catch { $caught = $_ }
        $caught.Exception.Message | Should -BeLike '*Connect-MgGraph -Scopes*Connect-PerUserMfa*'
        $caught.Exception.Message | Should -Not -BeLike '*Read-Host*'
    }
}

Describe 'Connect-PerUserMfa' {
    It 'refuses plain http to a host that is not loopback' {
        { Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint 'http://graph.contoso.com' } |
            Should -Throw -ExpectedMessage '*loopback*'
    }

    It 'accepts http on loopback and https anywhere' {
        { Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $sim.Url } | Should -Not -Throw
    }

    It 'takes the token as a SecureString only' {
        (Get-Command Connect-PerUserMfa).Parameters.AccessToken.ParameterType | Should -Be ([securestring])
    }
}

Describe 'Get-PerUserMfaState' {
    BeforeAll { Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $sim.Url }

    It 'reports every licensed member account with its state when given no users' {
        $expected = $truth | Where-Object { $_.userType -eq 'Member' -and @($_.assignedLicenses).Count -gt 0 }
        $result = Get-PerUserMfaState
        $result.Count | Should -Be $expected.Count
        ($result.Id | Sort-Object) | Should -Be ($expected.id | Sort-Object)
        foreach ($user in $result) {
            $expectedUser = $expected | Where-Object id -EQ $user.Id
            $user.PerUserMfaState | Should -BeExactly (ConvertTo-DisplayState $expectedUser.perUserMfaState)
            $user.UserPrincipalName | Should -BeExactly $expectedUser.userPrincipalName
            $user.DisplayName | Should -BeExactly $expectedUser.displayName
        }
    }

    It 'reports every user, guests and unlicensed included, with -All' {
        $result = Get-PerUserMfaState -All
        $result.Count | Should -Be $truth.Count
        ($result.Id | Sort-Object -Unique).Count | Should -Be $truth.Count
        @($result | Where-Object UserPrincipalName -Like '*#EXT#*').Count | Should -BeGreaterThan 0
    }

    It 'emits PerUserMfa.UserState objects with the contract properties' {
        $user = Get-PerUserMfaState -UserId 'adele.vance@contoso.com'
        $user.PSObject.TypeNames[0] | Should -Be 'PerUserMfa.UserState'
        $user.PSObject.Properties.Name | Should -Be @('UserPrincipalName', 'DisplayName', 'Id', 'PerUserMfaState')
        $user.PerUserMfaState | Should -BeExactly 'Enabled'
        $user.Id | Should -Be '00000000-0000-4000-8000-000000000001'
    }

    It 'reads a user whose UPN contains <Name>' -TestCases @(
        @{ Name = '#EXT#'; Upn = 'megan.bowen_fabrikam.com#EXT#@contoso.onmicrosoft.com' }
        @{ Name = 'an apostrophe'; Upn = "miriam.o'brien@contoso.com" }
        @{ Name = 'non-ASCII letters'; Upn = 'zoë.åström@contoso.com' }
    ) {
        $user = Get-PerUserMfaState -UserId $Upn -ErrorAction Stop
        $user.UserPrincipalName | Should -BeExactly $Upn
        $expected = $truth | Where-Object userPrincipalName -EQ $Upn
        $user.PerUserMfaState | Should -BeExactly (ConvertTo-DisplayState $expected.perUserMfaState)
    }

    It 'accepts object ids' {
        (Get-PerUserMfaState -UserId '00000000-0000-4000-8000-000000000002').PerUserMfaState | Should -BeExactly 'Enforced'
    }

    It 'binds strings from the pipeline by value' {
        $result = 'adele.vance@contoso.com', 'alex.wilber@contoso.com' | Get-PerUserMfaState
        ($result.UserPrincipalName | Sort-Object) | Should -Be @('adele.vance@contoso.com', 'alex.wilber@contoso.com')
    }

    It 'binds Import-Csv rows by the <Column> column' -TestCases @(
        @{ Column = 'UserPrincipalName' }
        @{ Column = 'Id' }
    ) {
        $csv = Join-Path $TestDrive "users-$Column.csv"
        $rows = $truth | Select-Object -First 30 | ForEach-Object {
            [pscustomobject]@{ $Column = if ($Column -eq 'Id') { $_.id } else { $_.userPrincipalName } }
        }
        $rows | Export-Csv $csv -NoTypeInformation -Encoding utf8
        $result = Import-Csv $csv | Get-PerUserMfaState
        $result.Count | Should -Be 30
        ($result.Id | Sort-Object) | Should -Be (($truth | Select-Object -First 30).id | Sort-Object)
    }

    It 'binds objects that have both Id and UserPrincipalName (as Get-MgUser emits)' {
        $mgUsers = $truth | Select-Object -First 5 | ForEach-Object {
            [pscustomobject]@{ Id = $_.id; UserPrincipalName = $_.userPrincipalName; DisplayName = $_.displayName }
        }
        $result = $mgUsers | Get-PerUserMfaState
        $result.Count | Should -Be 5
        ($result.Id | Sort-Object) | Should -Be ($mgUsers.Id | Sort-Object)
    }

    It 'reports a missing user as an error record and still reports the others' {
        $errors = $null
        $result = Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'nobody@contoso.com', 'alex.wilber@contoso.com' -ErrorVariable errors -ErrorAction SilentlyContinue
        $result.Count | Should -Be 2
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.UserNotFound*'
        $errors[0].TargetObject | Should -Be 'nobody@contoso.com'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].Exception.Message | Should -BeLike "*nobody@contoso.com*does not exist*"
    }

    It 'writes a CSV that round-trips every user and value' {
        $csv = Join-Path $TestDrive 'states.csv'
        Get-PerUserMfaState -All | Export-Csv $csv -NoTypeInformation -Encoding utf8
        $rows = Import-Csv $csv
        $rows.Count | Should -Be $truth.Count
        $rows[0].PSObject.Properties.Name | Should -Be @('UserPrincipalName', 'DisplayName', 'Id', 'PerUserMfaState')
        foreach ($expected in $truth) {
            $row = $rows | Where-Object Id -EQ $expected.id
            $row.UserPrincipalName | Should -BeExactly $expected.userPrincipalName
            $row.DisplayName | Should -BeExactly $expected.displayName
            $row.PerUserMfaState | Should -BeExactly (ConvertTo-DisplayState $expected.perUserMfaState)
        }
        Get-Content $csv -Raw | Should -Not -Match 'System\.'
    }

    It 'shows UPN, display name and state in the default table view' {
        $table = Get-PerUserMfaState -UserId 'adele.vance@contoso.com' | Out-String
        $table | Should -Match 'PerUserMfaState\s+UserPrincipalName\s+DisplayName'
        $table | Should -Match 'Enabled\s+adele\.vance@contoso\.com\s+Adele Vance'
    }

    It 'keeps the state in the default table at 80 columns next to a long guest UPN' {
        $guest = $truth | Where-Object userPrincipalName -Like '*#EXT#*' | Sort-Object { $_.userPrincipalName.Length + $_.displayName.Length } -Descending | Select-Object -First 1
        $table = Get-PerUserMfaState -UserId $guest.id | Out-String -Width 80
        $table | Should -Match 'PerUserMfaState'
        $table | Should -Match "\b$(ConvertTo-DisplayState $guest.perUserMfaState)\b"
    }

    It 'keeps the state in the Set-PerUserMfaState -PassThru table at 80 columns' {
        $longest = $truth | Where-Object userPrincipalName -Like '*#EXT#*' | Sort-Object { $_.userPrincipalName.Length } -Descending | Select-Object -First 1
        $result = [pscustomobject]@{ UserPrincipalName = $longest.userPrincipalName + 'x' * 40; DisplayName = $longest.displayName; Id = $longest.id; PreviousState = 'Disabled'; RequestedState = 'Enforced'; State = 'Enforced'; Changed = $true; JournalPath = '/tmp/j.jsonl' }
        $result.PSObject.TypeNames.Insert(0, 'PerUserMfa.ChangeResult')
        $table = $result | Out-String -Width 80
        $table | Should -Match 'Disabled\s+Enforced\s+True'
    }
}

Describe 'Permissions' {
    It 'names Policy.Read.All and how to consent when reading is refused' {
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles 'User.Read.All') -GraphEndpoint $sim.Url
        $caught = $null
        $result = try { Get-PerUserMfaState -UserId 'adele.vance@contoso.com' -WarningAction SilentlyContinue } catch { $caught = $_ }
        $result | Should -BeNullOrEmpty
        $caught.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $message = $caught.Exception.Message
        $message | Should -BeLike '*adele.vance@contoso.com*'
        $message | Should -BeLike '*Policy.Read.All*'
        $message | Should -BeLike '*Connect-MgGraph -Scopes*'
        $message | Should -BeLike '*admin consent*'
        $message | Should -Match 'request-id: [0-9a-f-]{36}'
    }

    It 'names Policy.ReadWrite.AuthenticationMethod when a change is refused' {
        Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $sim.Url
        $errors = $null
        Set-PerUserMfaState -UserId "miriam.o'brien@contoso.com" -State Enabled -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $errors[0].Exception.Message | Should -BeLike '*Policy.ReadWrite.AuthenticationMethod*'
        $errors[0].Exception.Message | Should -BeLike '*Authentication Policy Administrator*'
        Get-TrueState "miriam.o'brien@contoso.com" | Should -Be 'Disabled'
    }

    It 'stops with one authentication error when the token is rejected' {
        # Long enough to pass the connect-time expiry check on a loaded machine, then expired at first use.
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles) -LifetimeSeconds 5) -GraphEndpoint $sim.Url
        Start-Sleep -Seconds 6
        $caught = $null
        try { Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'alex.wilber@contoso.com' } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $caught.Exception.Message | Should -BeLike '*Connect-PerUserMfa*'
    }
}

Describe 'A token that cannot read any state' {
    BeforeAll {
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles 'User.Read.All') -GraphEndpoint $sim.Url
    }

    It 'stops <Case> with one terminating error naming the permission, not one error per user' -TestCases @(
        @{ Case = 'a listing (-All)'; Named = $false }
        @{ Case = 'named users'; Named = $true }
    ) {
        $arguments = if ($Named) { @{ UserId = @($truth | Select-Object -First 60 | ForEach-Object id) } } else { @{ All = $true } }
        $errors = $null
        $caught = $null
        try { $null = Get-PerUserMfaState @arguments -ErrorVariable errors -WarningAction SilentlyContinue } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $caught.Exception.Message | Should -BeLike '*Stopped at the first refusal*Policy.Read.All*'
        # -ErrorVariable holds the terminating error itself, and no per-user error.
        @($errors).Count | Should -BeLessOrEqual 1
    }
}

Describe 'Connect-PerUserMfa -AccessToken checks the token when it connects' {
    BeforeAll {
        function script:New-UnsignedJwt([hashtable] $Claims) {
            $encode = { param($text) [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($text)).TrimEnd('=').Replace('+', '-').Replace('/', '_') }
            '{0}.{1}.c2lnbmF0dXJl' -f (& $encode '{"typ":"JWT","alg":"RS256"}'), (& $encode ($Claims | ConvertTo-Json -Compress))
        }
        function script:Get-ConnectError([string] $Token) {
            try { Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $sim.Url; $null } catch { $_ }
        }
        $script:inAnHour = [DateTimeOffset]::UtcNow.AddHours(1).ToUnixTimeSeconds()
    }
    AfterAll { Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $sim.Url }

    It 'refuses an expired token, saying when it expired' {
        $expired = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -LifetimeSeconds 1 -AsPlainText
        Start-Sleep -Seconds 2
        $caught = Get-ConnectError $expired
        $caught | Should -Not -BeNullOrEmpty
        $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $caught.Exception.Message | Should -BeLike '*expired at*Get a new token*'
    }

    It 'refuses a token for another resource, naming it' {
        $caught = Get-ConnectError (New-UnsignedJwt @{ aud = 'https://management.azure.com'; exp = $inAnHour; roles = @('User.Read.All') })
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception.Message | Should -BeLike "*'https://management.azure.com'*not for Microsoft Graph*"
    }

    It 'refuses a JWT cut short when it was copied' {
        $token = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
        $parts = $token.Split('.')
        $caught = Get-ConnectError ('{0}.{1}.{2}' -f $parts[0], $parts[1].Substring(0, $parts[1].Length - 7), $parts[2])
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception.Message | Should -BeLike '*cannot be read*copy the whole token*'
    }

    It 'connects with a token it cannot read, and says so with -Verbose' {
        $verbose = Connect-PerUserMfa -AccessToken (ConvertTo-SecureString 'not-a-token' -AsPlainText -Force) -GraphEndpoint $sim.Url -Verbose 4>&1
        ($verbose.Message -join "`n") | Should -BeLike '*not a JWT*Graph judges it at the first request*'
        (Get-PerUserMfaConnection) | Should -Not -BeNullOrEmpty
    }
}

Describe 'Input that forgives' {
    BeforeAll {
        Connect-PerUserMfa -AccessToken $writeToken -GraphEndpoint $sim.Url
        $script:some = @($truth | Select-Object -First 12)
    }

    It 'binds Import-Csv rows by the <Column> column' -TestCases @(
        @{ Column = 'UPN' }
        @{ Column = 'Username' }
        @{ Column = 'User' }
        @{ Column = 'UserId' }
        @{ Column = 'ObjectId' }
    ) {
        $csv = Join-Path $TestDrive "users-$Column.csv"
        $some | ForEach-Object { [pscustomobject]@{ $Column = if ($Column -like '*Id') { $_.id } else { $_.userPrincipalName } } } |
            Export-Csv $csv -NoTypeInformation -Encoding utf8
        Reset-SimStats -Sim $sim
        $result = Import-Csv $csv | Get-PerUserMfaState -ErrorAction Stop
        ($result.Id | Sort-Object) | Should -Be ($some.id | Sort-Object)
    }

    It 'plans a change for Import-Csv rows with a UPN column' {
        $rows = $truth | Where-Object perUserMfaState -NE 'enforced' | Select-Object -First 3 | ForEach-Object { [pscustomobject]@{ UPN = $_.userPrincipalName } }
        $plan = $rows | Set-PerUserMfaState -State Enforced -WhatIf 6>&1 | Where-Object { $_ -is [System.Management.Automation.InformationRecord] }
        ($plan.MessageData -join "`n") | Should -Match 'What if: 3 accounts'
    }

    It 'stops with one error naming the properties found and expected, and sends nothing' {
        Reset-SimStats -Sim $sim
        $rows = 1..25 | ForEach-Object { [pscustomobject]@{ Name = "User $_"; Department = 'Sales' } }
        $caught = $null
        $errors = $null
        try { $null = $rows | Get-PerUserMfaState -ErrorVariable errors } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.UserInputNotRecognized*'
        $caught.Exception.Message | Should -BeLike '*Name, Department*UserPrincipalName*'
        @($errors).Count | Should -Be 1
        (Get-SimStats -Sim $sim).requests | Should -Be 0
    }

    It 'refuses a <Column> column: a mail address is not a UPN' -TestCases @(
        @{ Column = 'Mail' }
        @{ Column = 'Email' }
    ) {
        Reset-SimStats -Sim $sim
        $caught = $null
        try { $null = [pscustomobject]@{ $Column = 'adele.vance@contoso.com' } | Set-PerUserMfaState -State Enforced -Confirm:$false } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.UserInputIsMail*'
        $caught.Exception.Message | Should -BeLike "*$Column*not a user principal name*"
        (Get-SimStats -Sim $sim).requests | Should -Be 0
    }

    It 'falls back to the UPN when the Id next to it is empty' {
        $result = [pscustomobject]@{ Id = ''; UserPrincipalName = 'adele.vance@contoso.com' } | Get-PerUserMfaState -ErrorAction Stop
        $result.Id | Should -Be '00000000-0000-4000-8000-000000000001'
    }

    It 'reports a row whose user columns are all empty, naming the row, and reads the rest' {
        $errors = $null
        $result = @(
            [pscustomobject]@{ Id = ''; UserPrincipalName = '' }
            [pscustomobject]@{ Id = ''; UserPrincipalName = 'adele.vance@contoso.com' }
        ) | Get-PerUserMfaState -ErrorVariable errors -ErrorAction SilentlyContinue
        @($result).Count | Should -Be 1
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.UserInputEmpty*'
        $errors[0].Exception.Message | Should -BeLike '*Id and UserPrincipalName*empty*'
    }

    It 'accepts an object id in braces' {
        (Get-PerUserMfaState -UserId '{00000000-0000-4000-8000-000000000002}' -ErrorAction Stop).PerUserMfaState | Should -BeExactly 'Enforced'
    }

    It 'reports a user given in several spellings once' {
        $result = Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'ADELE.VANCE@contoso.com', '00000000-0000-4000-8000-000000000001', '{00000000-0000-4000-8000-000000000001}' -ErrorAction Stop
        @($result).Count | Should -Be 1
        $result.UserPrincipalName | Should -Be 'adele.vance@contoso.com'
    }

    It 'refuses -State <Value>: states are given by name' -TestCases @(
        @{ Value = 2 }
        @{ Value = '1' }
    ) {
        Reset-SimStats -Sim $sim
        { Set-PerUserMfaState -UserId "miriam.o'brien@contoso.com" -State $Value -Confirm:$false } | Should -Throw -ExpectedMessage '*by name: Disabled, Enabled or Enforced*'
        (Get-SimStats -Sim $sim).patches | Should -Be 0
    }

    It 'takes -PerUserMfaState as an alias of -State' {
        Reset-SimTenant -Sim $sim
        $result = Set-PerUserMfaState -UserId "miriam.o'brien@contoso.com" -PerUserMfaState Enforced -PassThru -Confirm:$false
        $result.State | Should -Be 'Enforced'
        Reset-SimTenant -Sim $sim
    }
}

Describe 'The inventory says what its scope left out' {
    BeforeAll {
        Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $sim.Url
        $script:licensed = @($truth | Where-Object { $_.userType -eq 'Member' -and @($_.assignedLicenses).Count -gt 0 })
    }

    It 'ends a licensed-member listing with one information line: how many accounts are left out, and -All' {
        Reset-SimStats -Sim $sim
        $everything = Get-PerUserMfaState 6>&1
        $information = @($everything | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })
        @($everything | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }).Count | Should -Be $licensed.Count
        $information.Count | Should -Be 1
        $leftOut = $truth.Count - $licensed.Count
        "$($information[0].MessageData)" | Should -BeLike "Listed $($licensed.Count) accounts (licensed members); $leftOut accounts outside that scope*add -All*"
        # The count costs one request: the listing's page plus one $count request.
        (Get-SimStats -Sim $sim).listPages | Should -Be 2
    }

    It 'adds no such line with -All' {
        $information = @(Get-PerUserMfaState -All 6>&1 | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })
        $information.Count | Should -Be 0
    }

    It 'says with -Verbose which path the listing took and what each page brought' {
        $verbose = @(Get-PerUserMfaState -All -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
        $verbose | Should -Match 'Listing all users \('
        $verbose | Should -Match "Page 1 of the listing: $($truth.Count) users, the last"
    }

    It 'warns that -SignInDays without -IncludeMfaSignIns changes nothing' {
        $null = Get-PerUserMfaState -UserId 'adele.vance@contoso.com' -SignInDays 7 -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -BeLike '*-SignInDays only applies with -IncludeMfaSignIns*'
    }
}

Describe 'Set-PerUserMfaState in a host that cannot prompt' {
    It 'says to add -Force in pwsh -NonInteractive, and changes nothing' {
        Reset-SimTenant -Sim $sim
        $script = Join-Path $TestDrive 'non-interactive.ps1'
        Set-Content -LiteralPath $script -Encoding utf8 -Value @'
param($Module, $Url, $Token, $Journals)
Import-Module $Module
Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
try { Set-PerUserMfaState -UserId "miriam.o'brien@contoso.com" -State Enforced -JournalPath $Journals -ErrorAction Stop; 'NO ERROR' }
catch { 'CAUGHT ' + $_.FullyQualifiedErrorId + ' ' + $_.Exception.Message }
'@
        $token = New-SimToken -Sim $sim -Roles (Get-WriteRoles) -AsPlainText
        $run = Invoke-FreshPowerShell -File $script -Arguments @($env:PUMFA_TEST_MODULE, $sim.Url, $token, $TestDrive) -TimeoutSeconds 120
        $text = $run.Output -join "`n"
        $text | Should -BeLike '*CAUGHT PerUserMfa.HostCannotConfirm*this host cannot ask for confirmation: add -Force (or -Confirm:$false) to change accounts*'
        Get-TrueState "miriam.o'brien@contoso.com" | Should -Be 'Disabled'
    }
}

Describe 'Set-PerUserMfaState' {
    BeforeAll {
        Connect-PerUserMfa -AccessToken $writeToken -GraphEndpoint $sim.Url
    }
    BeforeEach {
        Reset-SimTenant -Sim $sim
    }

    It 'changes a state and reports what Graph ended with' {
        $result = Set-PerUserMfaState -UserId "miriam.o'brien@contoso.com" -State Enforced -PassThru -Confirm:$false
        $result.PSObject.TypeNames[0] | Should -Be 'PerUserMfa.ChangeResult'
        $result.PreviousState | Should -Be 'Disabled'
        $result.State | Should -Be 'Enforced'
        $result.Changed | Should -BeTrue
        $result.Changed | Should -BeOfType [bool]
        Get-TrueState "miriam.o'brien@contoso.com" | Should -Be 'Enforced'
        (Get-SimStats -Sim $sim).patches | Should -Be 1
    }

    It 'reports Enforced when enabling a user who registered MFA methods' {
        $result = Set-PerUserMfaState -UserId 'diego.siciliani@contoso.com' -State Enabled -PassThru -Confirm:$false
        $result.RequestedState | Should -Be 'Enabled'
        $result.State | Should -Be 'Enforced'
    }

    It 'names who ended in another state than requested, in a summary whose rows line up' {
        $information = Set-PerUserMfaState -UserId 'diego.siciliani@contoso.com' -State Enabled -Confirm:$false 6>&1 |
            Where-Object { $_ -is [System.Management.Automation.InformationRecord] }
        $summary = ($information.MessageData | ForEach-Object { "$_" }) -join "`n"
        $summary | Should -BeLike '*1 account ended in another state than requested: diego.siciliani@contoso.com (Enforced)*'
        # Every row's label is padded to 19 columns after two spaces, "By state now:" too.
        $summary | Should -Match '(?m)^  By state now:\s{6}\S'
    }

    It 'sends no PATCH with -WhatIf' {
        Reset-SimStats -Sim $sim
        Set-PerUserMfaState -UserId 'adele.vance@contoso.com', "miriam.o'brien@contoso.com" -State Disabled -WhatIf
        (Get-SimStats -Sim $sim).patches | Should -Be 0
        Get-TrueState 'adele.vance@contoso.com' | Should -Be 'Enabled'
    }

    It 'sends no PATCH for a user already in the state' {
        Reset-SimStats -Sim $sim
        $result = Set-PerUserMfaState -UserId 'alex.wilber@contoso.com' -State Enforced -PassThru -Confirm:$false
        $result.Changed | Should -BeFalse
        (Get-SimStats -Sim $sim).patches | Should -Be 0
    }

    It 'takes Get-PerUserMfaState output from the pipeline' {
        $result = Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'zoë.åström@contoso.com' |
            Set-PerUserMfaState -State Disabled -PassThru -Confirm:$false
        $result.Count | Should -Be 2
        $result.State | Sort-Object -Unique | Should -Be 'Disabled'
        Get-TrueState 'zoë.åström@contoso.com' | Should -Be 'Disabled'
    }

    It 'changes the others and reports the missing user' {
        $errors = $null
        $result = Set-PerUserMfaState -UserId 'nobody@contoso.com', 'adele.vance@contoso.com' -State Disabled -PassThru -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
        $result.UserPrincipalName | Should -Be 'adele.vance@contoso.com'
        $errors.Count | Should -Be 1
        $errors[0].TargetObject | Should -Be 'nobody@contoso.com'
    }

    It 'completes -State with the three states' {
        $line = 'Set-PerUserMfaState -State '
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Be @('Disabled', 'Enabled', 'Enforced')
    }

    It 'rejects a state that does not exist' {
        { Set-PerUserMfaState -UserId 'adele.vance@contoso.com' -State On -Confirm:$false } | Should -Throw
    }
}

Describe 'Secrets' {
    It 'never shows the token in any stream, even with -Verbose' {
        $plain = New-SimToken -Sim $sim -Roles (Get-WriteRoles) -AsPlainText
        Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $plain -AsPlainText -Force) -GraphEndpoint $sim.Url -Verbose 4>&1 | Out-Null
        $everything = & {
            Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'nobody@contoso.com' -Verbose -ErrorAction Continue
            Set-PerUserMfaState -UserId 'alex.wilber@contoso.com' -State Enforced -PassThru -Confirm:$false -Verbose
        } *>&1 | Out-String
        $everything | Should -Not -BeNullOrEmpty
        $everything.Contains($plain) | Should -BeFalse
        $everything.Contains($plain.Split('.')[1]) | Should -BeFalse
    }
}
