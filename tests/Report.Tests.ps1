#Requires -Modules Pester
<#
    Get-PerUserMfaState -Detailed: every report column against the simulator's ground truth,
    privacy by default, a token without AuditLog.Read.All, an Entra ID Free tenant, and what Export-Csv
    writes. Runs with Graph's report budgets enforced (--throttle auto).
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:sim = Start-GraphSim -Users 320 -Seed 44 -ExtraArguments @('--throttle', 'auto')
    $script:truth = @{}
    foreach ($user in (Get-SimUser -Sim $sim)) { $script:truth[$user.id] = $user }
    $script:baseRoles = @('User.Read.All', 'Policy.Read.All')
    $script:fullToken = New-SimToken -Sim $sim -Roles ($baseRoles + 'AuditLog.Read.All' + 'UserAuthenticationMethod.Read.All')
    $script:noAuditToken = New-SimToken -Sim $sim -Roles $baseRoles
    $script:private = @($truth.Values | ForEach-Object { @($_.privateMethodDetails) } | Where-Object { $_ })

    Connect-PerUserMfa -AccessToken $fullToken -GraphEndpoint $sim.Url
    $script:before = [datetime]::UtcNow
    $script:rows = @(Get-PerUserMfaState -All -Detailed -IncludeMfaSignIns -WarningVariable reportWarnings -WarningAction SilentlyContinue)
    $script:after = [datetime]::UtcNow
    $script:fullWarnings = @($reportWarnings)

    function script:Get-Days($Iso) {
        if ($null -eq $Iso) { return @($null) }
        $then = [datetime]::Parse($Iso, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]'AdjustToUniversal, AssumeUniversal')
        @([int][math]::Floor(($before - $then).TotalDays), [int][math]::Floor(($after - $then).TotalDays))
    }
    function script:Should-BeDate($Actual, $ExpectedIso) {
        if ($null -eq $ExpectedIso) { $Actual | Should -BeNullOrEmpty; return }
        $Actual | Should -BeOfType [datetime]
        $Actual.Kind | Should -Be 'Utc'
        $Actual.ToString() | Should -Be $ExpectedIso
    }
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'Get-PerUserMfaState -Detailed' {
    It 'reports every user once, as PerUserMfa.UserReport, with the base columns first' {
        $rows.Count | Should -Be $truth.Count
        @($rows.Id | Sort-Object -Unique).Count | Should -Be $truth.Count
        $rows[0].PSObject.TypeNames[0] | Should -Be 'PerUserMfa.UserReport'
        $names = $rows[0].PSObject.Properties.Name
        $names[0..3] | Should -Be @('UserPrincipalName', 'DisplayName', 'Id', 'PerUserMfaState')
        $names | Should -Be @('UserPrincipalName', 'DisplayName', 'Id', 'PerUserMfaState', 'UserType', 'AccountEnabled',
            'IsLicensed', 'IsAdmin', 'IsMfaRegistered', 'IsMfaCapable', 'MethodsRegistered', 'DefaultMfaMethod',
            'PreferredMfaMethod', 'LastSignIn', 'LastSuccessfulSignIn', 'DaysSinceLastSignIn', 'DaysSinceLastSuccessfulSignIn',
            'SignInSessionsValidFrom', 'PasswordLastChanged', 'PasswordAgeDays', 'PasswordPolicies', 'PasswordNeverExpires',
            'LastMfaSignIn', 'DaysSinceLastMfaSignIn')
        $fullWarnings.Count | Should -Be 0
    }

    It 'shows a table of PerUserMfaState, IsMfaRegistered, LastSignIn, UPN, DisplayName' {
        $header = ($rows | Select-Object -First 3 | Format-Table | Out-String -Width 250) -split "`n" | Where-Object { $_ -match 'UserPrincipalName' } | Select-Object -First 1
        $header -split '\s+' | Where-Object { $_ } | Should -Be @('PerUserMfaState', 'IsMfaRegistered', 'LastSignIn', 'UserPrincipalName', 'DisplayName')
    }

    It 'keeps PerUserMfaState in the table at 80 columns next to the longest guest UPN' {
        $guest = $rows | Where-Object UserPrincipalName -Like '*#EXT#*' | Sort-Object { $_.UserPrincipalName.Length } -Descending | Select-Object -First 1
        $table = $guest | Out-String -Width 80
        $table | Should -Match 'PerUserMfaState'
        $table | Should -Match ([regex]::Escape($guest.PerUserMfaState))
    }

    It 'matches the ground truth in every column' {
        $withMfa = 0
        foreach ($row in $rows) {
            $t = $truth[$row.Id]
            $row.UserPrincipalName | Should -Be $t.userPrincipalName
            $row.DisplayName | Should -Be $t.displayName
            $row.PerUserMfaState | Should -Be ($t.perUserMfaState.Substring(0, 1).ToUpperInvariant() + $t.perUserMfaState.Substring(1))
            $row.UserType | Should -Be $t.userType
            $row.AccountEnabled | Should -BeExactly $t.accountEnabled
            $row.IsLicensed | Should -BeExactly (@($t.assignedLicenses).Count -gt 0)
            if ($t.hasRegistrationDetails) {
                $row.IsAdmin | Should -BeExactly $t.isAdmin
                $row.IsMfaRegistered | Should -BeExactly $t.isMfaRegistered
                $row.IsMfaCapable | Should -BeExactly $t.isMfaCapable
                $row.MethodsRegistered | Should -BeExactly (@($t.methodsRegistered) -join ', ')
                $row.DefaultMfaMethod | Should -Be $t.defaultMfaMethod
                $row.PreferredMfaMethod | Should -Be $t.userPreferredMethodForSecondaryAuthentication
            }
            else {
                # Graph has no registration row for a disabled account.
                $row.IsMfaRegistered | Should -BeNullOrEmpty
                $row.MethodsRegistered | Should -BeNullOrEmpty
            }
            Should-BeDate $row.LastSignIn $t.lastSignInDateTime
            Should-BeDate $row.LastSuccessfulSignIn $t.lastSuccessfulSignInDateTime
            Should-BeDate $row.LastMfaSignIn $t.lastMfaSignInDateTime
            Should-BeDate $row.SignInSessionsValidFrom $t.signInSessionsValidFromDateTime
            Should-BeDate $row.PasswordLastChanged $t.lastPasswordChangeDateTime
            (Get-Days $t.lastSignInDateTime) | Should -Contain $row.DaysSinceLastSignIn
            (Get-Days $t.lastSuccessfulSignInDateTime) | Should -Contain $row.DaysSinceLastSuccessfulSignIn
            (Get-Days $t.lastMfaSignInDateTime) | Should -Contain $row.DaysSinceLastMfaSignIn
            (Get-Days $t.lastPasswordChangeDateTime) | Should -Contain $row.PasswordAgeDays
            $row.PasswordPolicies | Should -Be $t.passwordPolicies
            $row.PasswordNeverExpires | Should -BeExactly ($t.passwordPolicies -eq 'DisablePasswordExpiration')
            if ($row.LastMfaSignIn) { $withMfa++ }
        }
        $withMfa | Should -BeGreaterThan 20
    }

    It 'stays within every report budget (no 429)' {
        (Get-SimStats -Sim $sim).throttled429 | Should -Be 0
    }

    It 'leaves out LastMfaSignIn without -IncludeMfaSignIns' {
        $one = Get-PerUserMfaState -UserId 'alex.wilber@contoso.com' -Detailed
        $one.PSObject.Properties.Name | Should -Not -Contain 'LastMfaSignIn'
        $one.PSObject.Properties.Name | Should -Not -Contain 'AuthenticationMethods'
        $one.Id | Should -Be '00000000-0000-4000-8000-000000000002'
        $one.LastSignIn.ToString() | Should -Be $truth[$one.Id].lastSignInDateTime
    }
}

Describe 'Privacy by default' {
    It 'has no phone number or email address of a method in -Detailed output or its CSV' {
        $private.Count | Should -BeGreaterThan 20
        $path = Join-Path ([System.IO.Path]::GetTempPath()) "pumfa-report-$PID.csv"
        $rows | Export-Csv -LiteralPath $path -NoTypeInformation
        $text = [System.IO.File]::ReadAllText($path) + ($rows | Format-List * | Out-String) + ($rows | ConvertTo-Json -Depth 3)
        Remove-Item -LiteralPath $path
        foreach ($detail in $private) { $text.Contains($detail) | Should -BeFalse -Because "'$detail' is personal data" }
    }

    It 'lists each method with its detail with -IncludeMethodDetails, after a warning about the duration' {
        $detailed = @(Get-PerUserMfaState -All -IncludeMethodDetails -WarningVariable methodWarnings -WarningAction SilentlyContinue)
        $detailed.Count | Should -Be $truth.Count
        @($methodWarnings).Count | Should -Be 1
        "$($methodWarnings[0])" | Should -BeLike '*one Graph request per user*'
        $text = ($detailed | ConvertTo-Csv -NoTypeInformation) -join "`n"
        foreach ($detail in $private) { $text.Contains($detail) | Should -BeTrue }
        foreach ($row in $detailed) {
            foreach ($method in @($truth[$row.Id].authenticationMethods)) {
                foreach ($field in 'phoneNumber', 'emailAddress', 'model', 'displayName') {
                    if ($method.PSObject.Properties[$field] -and $method.$field) { $row.AuthenticationMethods | Should -BeLike "*$($method.$field)*" }
                }
            }
        }
    }
}

Describe 'A token without AuditLog.Read.All' {
    BeforeAll {
        Connect-PerUserMfa -AccessToken $noAuditToken -GraphEndpoint $sim.Url
        $script:partial = @(Get-PerUserMfaState -All -Detailed -IncludeMfaSignIns -WarningVariable partialWarnings -WarningAction SilentlyContinue -ErrorVariable partialErrors)
        $script:partialWarnings = @($partialWarnings)
        $script:partialErrors = @($partialErrors)
    }
    AfterAll { Connect-PerUserMfa -AccessToken $fullToken -GraphEndpoint $sim.Url }

    It 'gives ONE warning naming the permission and what it would add' {
        $partialWarnings.Count | Should -Be 1
        "$($partialWarnings[0])" | Should -BeLike '*AuditLog.Read.All*'
        "$($partialWarnings[0])" | Should -BeLike '*LastSignIn*'
        $partialErrors.Count | Should -Be 0
    }

    It 'leaves the sign-in and registration columns empty and completes the rest' {
        $partial.Count | Should -Be $truth.Count
        foreach ($row in $partial) {
            $t = $truth[$row.Id]
            $row.LastSignIn | Should -BeNullOrEmpty
            $row.LastMfaSignIn | Should -BeNullOrEmpty
            $row.IsMfaRegistered | Should -BeNullOrEmpty
            $row.UserType | Should -Be $t.userType
            $row.PasswordLastChanged.ToString() | Should -Be $t.lastPasswordChangeDateTime
            $row.PerUserMfaState | Should -BeLike $t.perUserMfaState
        }
    }
}

Describe 'An Entra ID Free tenant' {
    BeforeAll { Set-SimConfig -Sim $sim -Settings @{ freeTenant = $true } }
    AfterAll { Set-SimConfig -Sim $sim -Settings @{ freeTenant = $false } }

    It 'completes with what the tenant has and says why the premium columns are empty' {
        $free = @(Get-PerUserMfaState -All -Detailed -IncludeMfaSignIns -WarningVariable freeWarnings -WarningAction SilentlyContinue)
        $free.Count | Should -Be $truth.Count
        @($freeWarnings).Count | Should -Be 1
        "$($freeWarnings[0])" | Should -BeLike '*P1 or P2*'
        @($free | Where-Object { $_.LastSignIn -or $_.IsMfaRegistered -ne $null }).Count | Should -Be 0
        @($free | Where-Object { $null -eq $_.AccountEnabled }).Count | Should -Be 0
    }
}

Describe 'Export-Csv of the report' {
    BeforeAll {
        $script:csvPath = Join-Path ([System.IO.Path]::GetTempPath()) "pumfa-report-csv-$PID.csv"
        $rows | Export-Csv -LiteralPath $csvPath -NoTypeInformation
        $script:csvText = [System.IO.File]::ReadAllText($csvPath)
        $script:csv = @(Import-Csv -LiteralPath $csvPath)
    }
    AfterAll { Remove-Item -LiteralPath $csvPath -ErrorAction SilentlyContinue }

    It 'never writes System.Object[] or a type name' {
        $csvText | Should -Not -Match 'System\.Object\[\]|System\.Collections|PSObject|PSCustomObject'
    }

    It 'writes dates as ISO 8601 UTC and booleans as True/False' {
        $csv.Count | Should -Be $rows.Count
        foreach ($column in 'LastSignIn', 'LastSuccessfulSignIn', 'LastMfaSignIn', 'SignInSessionsValidFrom', 'PasswordLastChanged') {
            foreach ($value in $csv.$column) {
                if ($value) { $value | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$' }
            }
        }
        foreach ($column in 'AccountEnabled', 'IsLicensed', 'PasswordNeverExpires') {
            $csv.$column | ForEach-Object { $_ | Should -BeIn @('True', 'False') }
        }
        $csv.IsMfaRegistered | ForEach-Object { $_ | Should -BeIn @('True', 'False', '') }
        $sample = $csv | Where-Object { $_.LastSignIn } | Select-Object -First 1
        $sample.LastSignIn | Should -Be $truth[$sample.Id].lastSignInDateTime
    }
}
