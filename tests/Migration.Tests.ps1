#Requires -Modules Pester
<#
    Test-PerUserMfaMigration end to end against graph-sim started with a Conditional Access
    scenario (--scenario, then /_sim/scenario for others): default scope, pipeline binding, the
    output type and its default view, Export-Csv-clean list columns, the tenant summary on the
    information stream, errors naming the account. The verdict rules themselves are covered
    scenario by scenario in rust/engine/tests/migration.rs.
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:scenarios = Join-Path $PSScriptRoot 'migration-scenarios'
    $scenario = Join-Path $scenarios '05-excluded-through-nested-group.json'
    $script:sim = Start-GraphSim -Users 60 -Seed 7 -ExtraArguments @('--scenario', $scenario)
    $roles = @('User.Read.All', 'Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All')
    Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url

    function script:Set-Scenario([string] $Name) {
        $text = [System.IO.File]::ReadAllText((Join-Path $scenarios $Name))
        $null = Invoke-RestMethod -Method Post -Uri "$($sim.Url)/_sim/scenario" -Body ([System.Text.Encoding]::UTF8.GetBytes($text)) -ContentType 'application/json'
    }
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'Test-PerUserMfaMigration' {
    BeforeEach { Set-Scenario '05-excluded-through-nested-group.json' }

    It 'checks every account with per-user MFA Enabled or Enforced by default, once each' {
        $users = Get-SimUser -Sim $sim
        $expected = @($users | Where-Object perUserMfaState -ne 'disabled' | ForEach-Object id | Sort-Object)
        $checks = @(Test-PerUserMfaMigration -InformationAction SilentlyContinue)
        @($checks.Id | Sort-Object) | Should -Be $expected
        $checks[0].PSObject.TypeNames[0] | Should -Be 'PerUserMfa.MigrationCheck'
        @($checks[0].PSObject.Properties.Name) | Should -Be @('UserPrincipalName', 'DisplayName', 'Id', 'PerUserMfaState', 'Verdict', 'CoveredBy', 'ReportOnly', 'Gaps', 'Reason')
    }

    It 'gives the verdicts and gaps of the scenario' {
        $adele = Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -InformationAction SilentlyContinue
        $adele.Verdict | Should -Be 'NotCovered'
        @($adele.Gaps) | Should -Be @("Excluded from 'Require MFA for all users' through group 'Break glass'")
        $adele.PerUserMfaState | Should -Be 'Enabled'
        $alex = Test-PerUserMfaMigration -UserId 'alex.wilber@contoso.com' -InformationAction SilentlyContinue
        $alex.Verdict | Should -Be 'Covered'
        @($alex.CoveredBy) | Should -Be @('Require MFA for all users')
    }

    It 'takes Get-PerUserMfaState output from the pipeline' {
        $checks = @(Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'alex.wilber@contoso.com' |
                Test-PerUserMfaMigration -InformationAction SilentlyContinue)
        @($checks.UserPrincipalName | Sort-Object) | Should -Be @('adele.vance@contoso.com', 'alex.wilber@contoso.com')
    }

    It 'writes the tenant summary to the information stream, not the output' {
        $all = @(Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com', 'alex.wilber@contoso.com' 6>&1)
        $objects = @($all | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
        $info = @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
        $objects.Count | Should -Be 2
        $text = $info -join "`n"
        $text | Should -BeLike '*Migration readiness: 1 Covered, 0 PartiallyCovered, 1 NotCovered, 0 Unknown.*'
        $text | Should -BeLike '*Security defaults: off.*'
        $text | Should -BeLike "*Policies that require MFA (enabled): 'Require MFA for all users'.*"
        $text | Should -BeLike '*No enabled policy blocks legacy authentication*'
    }

    It 'exports cleanly to CSV: list columns as joined text' {
        Set-Scenario '41-two-partials.json'
        $path = Join-Path $TestDrive 'migration.csv'
        Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -InformationAction SilentlyContinue | Export-Csv -Path $path -NoTypeInformation
        $raw = Get-Content -LiteralPath $path -Raw
        $raw | Should -Not -BeLike '*System.*'
        $row = Import-Csv -LiteralPath $path
        $row.Verdict | Should -Be 'PartiallyCovered'
        $row.CoveredBy | Should -Be 'MFA for Office; MFA in the browser'
        $row.Gaps | Should -Be "'MFA for Office' covers only Office 365; 'MFA in the browser' does not cover mobile app and desktop client sign-ins"
        $row.ReportOnly | Should -Be ''
    }

    It 'shows UPN, state, verdict and covered-by in its default table view' {
        $table = Test-PerUserMfaMigration -UserId 'alex.wilber@contoso.com' -InformationAction SilentlyContinue | Format-Table | Out-String -Width 200
        $header = ($table -split "`n" | Where-Object { $_.Trim() } | Select-Object -First 1).Trim()
        $header | Should -Match '^UserPrincipalName\s+PerUserMfaState\s+Verdict\s+CoveredBy$'
        $table | Should -BeLike '*alex.wilber@contoso.com*Enforced*Covered*Require MFA for all users*'
    }

    It 'reports an account that does not exist as an error naming it, and goes on' {
        $errors = $null
        $checks = @(Test-PerUserMfaMigration -UserId 'nobody@contoso.com', 'alex.wilber@contoso.com' -ErrorVariable errors -ErrorAction SilentlyContinue -InformationAction SilentlyContinue)
        $checks.Count | Should -Be 1
        $errors.Count | Should -Be 1
        $errors[0].TargetObject | Should -Be 'nobody@contoso.com'
    }

    It 'says Unknown, with one warning, when the policies cannot be read' {
        $token = New-SimToken -Sim $sim -Roles @('User.Read.All', 'Policy.ReadWrite.AuthenticationMethod')
        Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url
        try {
            $warnings = $null
            $check = Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -WarningVariable warnings -WarningAction SilentlyContinue -InformationAction SilentlyContinue
            $check.Verdict | Should -Be 'Unknown'
            $check.Reason | Should -BeLike '*Conditional Access policies could not be read*Policy.Read.All*'
            @($warnings | Where-Object { "$_" -like '*Conditional Access policies could not be read*' }).Count | Should -Be 1
        }
        finally {
            $roles = @('User.Read.All', 'Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All')
            Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url
        }
    }

    It '-Evaluate adds What-If''s answers for PartiallyCovered accounts only, without changing a verdict' {
        Set-Scenario '54-evaluate-what-if.json'
        $path = Join-Path $TestDrive 'what-if.csv'
        $verbose = $null
        $checks = @(Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com', 'lee.gu@contoso.com' -Evaluate -InformationAction SilentlyContinue -Verbose 4>&1 |
                Tee-Object -Variable verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $adele = $checks | Where-Object UserPrincipalName -eq 'adele.vance@contoso.com'
        $lee = $checks | Where-Object UserPrincipalName -eq 'lee.gu@contoso.com'
        $adele.Verdict | Should -Be 'PartiallyCovered'
        @($adele.WhatIf).Count | Should -Be 8
        @($adele.WhatIf)[0] | Should -Be "Exchange Online, browser, Windows: MFA required by 'MFA for Exchange' (report-only: 'MFA for everyone (report-only)')"
        @($adele.WhatIf)[4] | Should -Be "SharePoint Online, browser, Windows: MFA not required (report-only: 'MFA for everyone (report-only)')"
        $lee.Verdict | Should -Be 'Covered'
        @($lee.WhatIf).Count | Should -Be 0
        @($adele.PSObject.Properties.Name)[-1] | Should -Be 'WhatIf'
        @($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and "$_" -like '*one request per second*' }).Count | Should -Be 1
        $adele | Export-Csv -Path $path -NoTypeInformation
        (Import-Csv -LiteralPath $path).WhatIf | Should -BeLike "Exchange Online, browser, Windows: MFA required by 'MFA for Exchange'*; Exchange Online, browser, iOS:*"
        $plain = Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -InformationAction SilentlyContinue
        $plain.PSObject.Properties.Name | Should -Not -Contain 'WhatIf'
    }
}

Describe 'Test-PerUserMfaMigration -IncludeSignIns' {
    BeforeAll {
        $script:signInRoles = @('User.Read.All', 'Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All', 'AuditLog.Read.All')
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $signInRoles) -GraphEndpoint $sim.Url
    }
    AfterAll {
        $roles = @('User.Read.All', 'Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All')
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url
    }
    BeforeEach { Set-Scenario '53-sign-ins-per-user-only.json' }

    It 'adds the sign-in columns and downgrades Covered on per-user-only sign-ins' {
        $adele = Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -IncludeSignIns -InformationAction SilentlyContinue
        @($adele.PSObject.Properties.Name) | Should -Be @('UserPrincipalName', 'DisplayName', 'Id', 'PerUserMfaState', 'Verdict', 'CoveredBy', 'ReportOnly', 'Gaps', 'Reason',
            'MfaSignIns', 'PerUserOnlyMfaSignIns', 'LastPerUserOnlyMfaSignIn', 'PerUserOnlyApps', 'LastConditionalAccessMfaSignIn')
        $adele.Verdict | Should -Be 'PartiallyCovered'
        $adele.MfaSignIns | Should -Be 3
        $adele.PerUserOnlyMfaSignIns | Should -Be 2
        @($adele.PerUserOnlyApps) | Should -Be @('Salesforce')
        $adele.LastPerUserOnlyMfaSignIn | Should -BeOfType [datetime]
        $adele.LastConditionalAccessMfaSignIn | Should -BeGreaterThan $adele.LastPerUserOnlyMfaSignIn
        @($adele.Gaps)[0] | Should -BeLike '2 sign-ins in the last 30 days needed MFA only because of per-user MFA (Salesforce; latest *)'
    }

    It 'leaves the columns out without -IncludeSignIns, and warns about -SignInDays alone' {
        $warnings = $null
        $adele = Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -SignInDays 7 -WarningVariable warnings -WarningAction SilentlyContinue -InformationAction SilentlyContinue
        $adele.Verdict | Should -Be 'Covered'
        $adele.PSObject.Properties.Name | Should -Not -Contain 'MfaSignIns'
        @($warnings | Where-Object { "$_" -like '*-SignInDays only applies with -IncludeSignIns*' }).Count | Should -Be 1
    }

    It 'refuses a -SignInDays outside 1 to 30' {
        { Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -IncludeSignIns -SignInDays 31 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'exports the sign-in columns cleanly to CSV' {
        $path = Join-Path $TestDrive 'evidence.csv'
        Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com', 'alex.wilber@contoso.com' -IncludeSignIns -InformationAction SilentlyContinue |
            Export-Csv -Path $path -NoTypeInformation
        $raw = Get-Content -LiteralPath $path -Raw
        $raw | Should -Not -BeLike '*System.*'
        $rows = @(Import-Csv -LiteralPath $path)
        $adele = $rows | Where-Object UserPrincipalName -eq 'adele.vance@contoso.com'
        $adele.PerUserOnlyApps | Should -Be 'Salesforce'
        $adele.PerUserOnlyMfaSignIns | Should -Be '2'
        $adele.LastPerUserOnlyMfaSignIn | Should -Match '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$'
        ($rows | Where-Object UserPrincipalName -eq 'alex.wilber@contoso.com').PerUserOnlyMfaSignIns | Should -Be '0'
    }

    It 'keeps the verdict and leaves the columns empty, with one warning, without AuditLog.Read.All' {
        $roles = @('User.Read.All', 'Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All')
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url
        try {
            $warnings = $null
            $adele = Test-PerUserMfaMigration -UserId 'adele.vance@contoso.com' -IncludeSignIns -WarningVariable warnings -WarningAction SilentlyContinue -InformationAction SilentlyContinue
            $adele.Verdict | Should -Be 'Covered'
            $adele.MfaSignIns | Should -BeNullOrEmpty
            $adele.PSObject.Properties.Name | Should -Contain 'PerUserOnlyMfaSignIns'
            @($warnings | Where-Object { "$_" -like '*sign-in logs*' }).Count | Should -Be 1
            @($warnings | Where-Object { "$_" -like '*AuditLog.Read.All*' }).Count | Should -Be 1
        }
        finally {
            Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $signInRoles) -GraphEndpoint $sim.Url
        }
    }
}
