#Requires -Modules Pester
<#
    Set-PerUserMfaState -State Disabled -RequireCoverage end to end against graph-sim started with
    the Conditional Access scenario tests/migration-scenarios/53-require-coverage-mix.json (one
    account of each verdict): the simulator's PATCH counter proves that only Covered accounts are
    changed; every other account is an error record naming its verdict; -WhatIf shows the split;
    the journal records each verdict; a resume keeps the rule; an unreadable set-up changes nobody.
    The prompt itself is covered by the xunit tests (it needs a host that answers prompts).
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:scenario = Join-Path $PSScriptRoot 'migration-scenarios/53-require-coverage-mix.json'
    $script:sim = Start-GraphSim -Users 30 -Seed 7 -ExtraArguments @('--scenario', $scenario)
    $script:roles = @('User.Read.All', 'Policy.ReadWrite.AuthenticationMethod', 'Policy.Read.All', 'GroupMember.Read.All',
        'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All')
    Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url

    # The scenario names users by UPN and the simulator resolves them to the tenant's ids at load
    # time: load it again after each reset.
    function script:Set-Scenario {
        $text = [System.IO.File]::ReadAllText($scenario)
        $null = Invoke-RestMethod -Method Post -Uri "$($sim.Url)/_sim/scenario" -Body ([System.Text.Encoding]::UTF8.GetBytes($text)) -ContentType 'application/json'
    }
    function script:Get-Truth { $map = @{}; foreach ($u in (Get-SimUser -Sim $sim)) { $map[$u.userPrincipalName] = $u }; $map }
    function script:Read-JournalLines([string] $Path) { Get-Content -LiteralPath $Path -Encoding utf8 | ForEach-Object { $_ | ConvertFrom-Json } }

    $script:covered = @('alex.wilber@contoso.com', 'lee.gu@contoso.com')
    $script:skipped = [ordered]@{
        'adele.vance@contoso.com'    = 'NotCovered'
        'zoë.åström@contoso.com'     = 'PartiallyCovered'
        'johanna.lorenz@contoso.com' = 'Unknown'
    }
    $script:everyone = @($covered) + @($skipped.Keys) + @('diego.siciliani@contoso.com')
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'Set-PerUserMfaState -RequireCoverage' {
    BeforeEach {
        Reset-SimTenant -Sim $sim
        Set-Scenario
    }

    It 'disables only the Covered accounts (PATCH counter) and names the verdict of every other' {
        $before = Get-Truth
        $before['alex.wilber@contoso.com'].perUserMfaState | Should -Be 'enforced'
        $before['adele.vance@contoso.com'].perUserMfaState | Should -Be 'enabled'
        $journal = Join-Path $TestDrive 'covered.jsonl'
        $errors = $null
        $info = $null
        $result = @($everyone | Set-PerUserMfaState -State Disabled -RequireCoverage -Force -PassThru -JournalPath $journal `
                -ErrorVariable errors -ErrorAction SilentlyContinue -InformationVariable info)

        (Get-SimStats -Sim $sim).patches | Should -Be 2
        $after = Get-Truth
        foreach ($upn in $covered) {
            $after[$upn].perUserMfaState | Should -Be 'disabled'
            $after[$upn].patchCount | Should -Be 1
        }
        foreach ($upn in $skipped.Keys) {
            $after[$upn].patchCount | Should -Be 0 -Because "$upn is $($skipped[$upn])"
            $after[$upn].perUserMfaState | Should -Be $before[$upn].perUserMfaState
        }

        @($result.UserPrincipalName | Sort-Object) | Should -Be @('alex.wilber@contoso.com', 'diego.siciliani@contoso.com', 'lee.gu@contoso.com')
        $errors.Count | Should -Be 3
        foreach ($upn in $skipped.Keys) {
            $error1 = @($errors | Where-Object TargetObject -eq $upn)
            $error1.Count | Should -Be 1 -Because "one error record for $upn"
            $error1[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.NotCovered*'
            $error1[0].CategoryInfo.Category | Should -Be 'SecurityError'
            $error1[0].Exception.Message | Should -BeLike "'$upn' is $($skipped[$upn]), so -RequireCoverage leaves per-user MFA as it is: *"
        }
        ($errors | Where-Object TargetObject -eq 'adele.vance@contoso.com').Exception.Message | Should -BeLike '*No enabled Conditional Access policy requires MFA*'
        $summary = "$($info[-1])"
        $summary | Should -BeLike '*Changed:                2*'
        $summary | Should -BeLike '*Not covered:            3*'
        $summary | Should -BeLike '*Failed:                 0*'

        $lines = @(Read-JournalLines $journal)
        $lines[0].requireCoverage | Should -BeTrue
        @($lines | Where-Object type -eq 'planned' | ForEach-Object verdict | Select-Object -Unique) | Should -Be @('Covered')
        foreach ($upn in $skipped.Keys) {
            $outcome = @($lines | Where-Object { $_.type -eq 'outcome' -and $_.target -eq $upn })
            $outcome.Count | Should -Be 1
            $outcome[0].outcome | Should -Be 'notCovered'
            $outcome[0].verdict | Should -Be $skipped[$upn]
            $outcome[0].verdictReason | Should -Not -BeNullOrEmpty
        }
    }

    It '-WhatIf shows the split by verdict and sends nothing' {
        $info = @(Set-PerUserMfaState -UserId $everyone -State Disabled -RequireCoverage -WhatIf -ErrorAction SilentlyContinue 6>&1 |
                Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
        $info | Should -Contain 'What if: 2 Covered will be Disabled; 1 PartiallyCovered, 1 NotCovered, 1 Unknown skipped; 1 account already in the requested state. Nothing was changed.'
        (Get-SimStats -Sim $sim).patches | Should -Be 0
    }

    It 'an undo of the run puts back only the accounts it disabled' {
        $journal = Join-Path $TestDrive 'undo-me.jsonl'
        $everyone | Set-PerUserMfaState -State Disabled -RequireCoverage -Force -JournalPath $journal -ErrorAction SilentlyContinue -InformationAction SilentlyContinue
        Reset-SimStats -Sim $sim
        $undone = @(Undo-PerUserMfaChange -JournalPath $journal -Force -PassThru -InformationAction SilentlyContinue)
        (Get-SimStats -Sim $sim).patches | Should -Be 2
        @($undone | Where-Object Changed | ForEach-Object UserPrincipalName | Sort-Object) | Should -Be $covered
        (Get-Truth)['alex.wilber@contoso.com'].perUserMfaState | Should -Be 'enforced'
    }

    It 'a resumed run keeps the rule: an account that lost its coverage meanwhile is left alone' {
        # A run without write permission: Graph refuses both PATCHes, so both are still to do.
        $readOnly = @($roles | Where-Object { $_ -ne 'Policy.ReadWrite.AuthenticationMethod' })
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $readOnly) -GraphEndpoint $sim.Url
        $journal = Join-Path $TestDrive 'resume.jsonl'
        $covered | Set-PerUserMfaState -State Disabled -RequireCoverage -Force -JournalPath $journal -ErrorAction SilentlyContinue -InformationAction SilentlyContinue
        (Get-SimStats -Sim $sim).patches | Should -Be 0
        # Lee is added to the break-glass group; the permission is granted; the run is resumed.
        $changed = [System.IO.File]::ReadAllText($scenario) | ConvertFrom-Json
        ($changed.groups | Where-Object id -eq 'grp-breakglass').members += 'lee.gu@contoso.com'
        $text = $changed | ConvertTo-Json -Depth 20
        $null = Invoke-RestMethod -Method Post -Uri "$($sim.Url)/_sim/scenario" -Body ([System.Text.Encoding]::UTF8.GetBytes($text)) -ContentType 'application/json'
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url
        $errors = $null
        $info = $null
        Set-PerUserMfaState -ResumeJournal $journal -Force -ErrorVariable errors -ErrorAction SilentlyContinue -InformationVariable info

        $truth = Get-Truth
        $truth['alex.wilber@contoso.com'].perUserMfaState | Should -Be 'disabled'
        $truth['lee.gu@contoso.com'].patchCount | Should -Be 0
        (Get-SimStats -Sim $sim).patches | Should -Be 1
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.NotCovered*'
        $errors[0].Exception.Message | Should -BeLike "'lee.gu@contoso.com' is NotCovered*"
        "$($info[0])" | Should -BeLike '*only to accounts still Covered (the run was started with -RequireCoverage)*'
        $lee = @(Read-JournalLines $journal | Where-Object { $_.type -eq 'outcome' -and $_.target -eq 'lee.gu@contoso.com' })[-1]
        $lee.outcome | Should -Be 'notCovered'
        $lee.verdict | Should -Be 'NotCovered'
    }

    It 'changes nobody when the Conditional Access policies cannot be read: one error naming the permission' {
        $withoutPolicies = @($roles | Where-Object { $_ -ne 'Policy.Read.All' })
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $withoutPolicies) -GraphEndpoint $sim.Url
        try {
            { Set-PerUserMfaState -UserId $everyone -State Disabled -RequireCoverage -Force -JournalPath (Join-Path $TestDrive 'none.jsonl') -InformationAction SilentlyContinue } |
                Should -Throw -ExpectedMessage '*Conditional Access policies (403*the connection needs Policy.Read.All. Nobody was changed.*'
            (Get-SimStats -Sim $sim).patches | Should -Be 0
            Test-Path (Join-Path $TestDrive 'none.jsonl') | Should -BeFalse
        }
        finally {
            Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url
        }
    }

    It 'refuses another state than Disabled with a parameter error, before any request' {
        Reset-SimStats -Sim $sim
        { Set-PerUserMfaState -UserId 'adele.vance@contoso.com' -State Enforced -RequireCoverage -Force -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '-RequireCoverage goes with -State Disabled only*(-State Enforced was given.)'
        (Get-SimStats -Sim $sim).requests | Should -Be 0
    }
}
