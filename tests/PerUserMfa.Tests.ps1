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
        $names | Should -Be @('Connect-PerUserMfa', 'Disconnect-PerUserMfa', 'Export-PerUserMfaReport', 'Get-PerUserMfaConnection', 'Get-PerUserMfaState', 'Set-PerUserMfaState', 'Undo-PerUserMfaChange')
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
        $table | Should -Match 'UserPrincipalName\s+DisplayName\s+PerUserMfaState'
        $table | Should -Match 'adele\.vance@contoso\.com\s+Adele Vance\s+Enabled'
    }
}

Describe 'Permissions' {
    It 'names Policy.Read.All and how to consent when reading is refused' {
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles 'User.Read.All') -GraphEndpoint $sim.Url
        $errors = $null
        $result = Get-PerUserMfaState -UserId 'adele.vance@contoso.com' -ErrorVariable errors -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $errors.Count | Should -Be 1
        $errors[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $errors[0].TargetObject | Should -Be 'adele.vance@contoso.com'
        $message = $errors[0].Exception.Message
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
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles) -LifetimeSeconds 1) -GraphEndpoint $sim.Url
        Start-Sleep -Seconds 2
        $caught = $null
        try { Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'alex.wilber@contoso.com' } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $caught.Exception.Message | Should -BeLike '*Connect-PerUserMfa*'
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
