#Requires -Modules Pester
<#
    Bulk changes admins can trust, end to end against graph-sim: users already in the
    state are skipped without a PATCH, -WhatIf sends nothing, every change is journalled before it
    is sent, a run killed mid-way is finished by -ResumeJournal without changing anyone twice,
    Undo-PerUserMfaChange restores the previous states, faults lose nobody, and damaged journals
    are refused clearly. The once-per-run prompt is covered by the xunit tests (it needs a host
    that answers prompts).
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:sim = Start-GraphSim -Users 400 -Seed 31
    $script:plainToken = New-SimToken -Sim $sim -Roles (Get-WriteRoles) -AsPlainText
    Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $plainToken -AsPlainText -Force) -GraphEndpoint $sim.Url

    # Get-SimUser writes the whole array as one object; this enumerates it.
    function script:Get-Users { $users = Get-SimUser -Sim $sim; $users }
    function script:Get-Truth { $map = @{}; foreach ($u in Get-Users) { $map[$u.id] = $u }; $map }
    function script:Read-JournalLines([string] $Path) { Get-Content -LiteralPath $Path | ForEach-Object { $_ | ConvertFrom-Json } }
    function script:New-JournalPath([string] $Name) { Join-Path $TestDrive "$Name-$([guid]::NewGuid().ToString('N').Substring(0, 8)).jsonl" }
    # Another admin's change, straight to Graph (not through the module, so no journal).
    function script:Set-StateAsAnotherAdmin([string] $Id, [string] $State) {
        $null = Invoke-RestMethod -Method Patch -Uri "$($sim.Url)/beta/users/$Id/authentication/requirements" `
            -Headers @{ Authorization = "Bearer $plainToken" } -ContentType 'application/json' -Body (@{ perUserMfaState = $State } | ConvertTo-Json)
    }
    function script:Get-PlainUser([string] $State) { Get-Users | Where-Object { $_.perUserMfaState -eq $State -and -not $_.hasMfaMethods } }
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'Set-PerUserMfaState in bulk' {
    BeforeEach {
        Reset-SimTenant -Sim $sim
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0; fault503 = 0; dropRate = 0; throttle = 'off' }
    }

    It 'skips users already in the state without a PATCH and journals every user' {
        $before = Get-Truth
        $ids = @((Get-Users | Select-Object -First 200).id)
        $needing = @($ids | Where-Object { $before[$_].perUserMfaState -ne 'enforced' })
        $needing.Count | Should -BeGreaterThan 50
        $needing.Count | Should -BeLessThan 200
        $journal = New-JournalPath 'skip'
        $errors = $null
        $result = $ids + 'nobody@contoso.com' | Set-PerUserMfaState -State Enforced -Force -PassThru -JournalPath $journal -ErrorVariable errors -ErrorAction SilentlyContinue

        (Get-SimStats -Sim $sim).patches | Should -Be $needing.Count
        $after = Get-Truth
        foreach ($id in $ids) {
            $after[$id].perUserMfaState | Should -Be 'enforced'
            $after[$id].patchCount | Should -Be ([int]($before[$id].perUserMfaState -ne 'enforced')) -Because "$id is patched only if it was not enforced"
        }
        $result.Count | Should -Be 200
        foreach ($r in $result) {
            $r.Changed | Should -Be ($before[$r.Id].perUserMfaState -ne 'enforced')
            $r.State | Should -BeExactly 'Enforced'
            $r.JournalPath | Should -Be $journal
        }
        $errors.Count | Should -Be 1
        $errors[0].TargetObject | Should -Be 'nobody@contoso.com'
        $errors[0].Exception.Message | Should -BeLike '*nobody@contoso.com*does not exist*'

        $lines = @(Read-JournalLines $journal)
        $lines[0].type | Should -Be 'header'
        $lines[0].format | Should -Be 'PerUserMfa.Journal/1'
        $lines[0].requestedState | Should -Be 'enforced'
        @($lines | Where-Object type -EQ 'outcome').Count | Should -Be 200
        @($lines | Where-Object type -EQ 'sending').Count | Should -Be $needing.Count
        Get-Content -LiteralPath $journal | ForEach-Object { $_ | Should -Match '"(time|created)":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"' }
        foreach ($line in $lines | Where-Object type -EQ 'outcome') {
            $line.previousState | Should -Be $before[$line.id].perUserMfaState
            $line.requestedState | Should -Be 'enforced'
            $line.state | Should -Be 'enforced'
            $line.outcome | Should -Be $(if ($before[$line.id].perUserMfaState -eq 'enforced') { 'alreadyInState' } else { 'changed' })
        }
    }

    It 'prints the journal path (default: the folder PERUSERMFA_JOURNAL_DIR names) and a summary on the information stream' {
        $env:PERUSERMFA_JOURNAL_DIR | Should -Not -BeNullOrEmpty -Because 'the suite keeps journals out of the real default folder'
        $info = Set-PerUserMfaState -UserId 'adele.vance@contoso.com', 'alex.wilber@contoso.com', 'nobody@contoso.com' -State Enforced -Force -ErrorAction SilentlyContinue 6>&1
        $messages = @($info | ForEach-Object { "$_" })
        $journalLine = $messages | Where-Object { $_ -like 'Journal: *' } | Select-Object -First 1
        $journal = $journalLine.Substring('Journal: '.Length)
        try {
            $journal | Should -BeLike "$([System.IO.Path]::GetFullPath($env:PERUSERMFA_JOURNAL_DIR))*"
            Test-Path -LiteralPath $journal | Should -BeTrue
            $summary = $messages[-1]
            $summary | Should -BeLike 'Set per-user MFA state: 3 accounts in *'
            $summary | Should -Match 'Changed:\s+1\s+\(1 Enabled -> Enforced\)'
            $summary | Should -Match 'Already in state:\s+1\s+\(Enforced 1\)'
            $summary | Should -Match 'Failed:\s+1\s+\(each is an error record'
            $summary | Should -Match 'By state now:\s+Enforced 2'
            $summary | Should -BeLike "*Journal: $journal"
            @($info | Where-Object { $_ -is [System.Management.Automation.InformationRecord] }).Tags | Should -Contain 'PSHOST'
        }
        finally { Remove-Item -LiteralPath $journal -ErrorAction SilentlyContinue }
    }

    It '-WhatIf reads the states, sends no PATCH and writes no journal' {
        Reset-SimStats -Sim $sim
        $journal = New-JournalPath 'whatif'
        $ids = @((Get-Users | Select-Object -First 50).id)
        $ids | Set-PerUserMfaState -State Disabled -WhatIf -JournalPath $journal
        $stats = Get-SimStats -Sim $sim
        $stats.patches | Should -Be 0
        $stats.requirementsGets | Should -BeGreaterOrEqual 50
        Test-Path -LiteralPath $journal | Should -BeFalse
    }

    It 'estimates the duration up front and shows the time left in the progress bar' {
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 100 }
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($Module, $Ids, $Journal, $Url, $Token)
                    Import-Module $Module
                    # A connection belongs to its runspace: this one signs in on its own.
                    Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
                    $ProgressPreference = 'Continue'
                    $Ids | Set-PerUserMfaState -State Disabled -Force -JournalPath $Journal
                }).AddArgument($env:PUMFA_TEST_MODULE).AddArgument(@((Get-Users | Where-Object perUserMfaState -NE 'disabled' | Select-Object -First 120).id)).AddArgument((New-JournalPath 'progress')).AddArgument($sim.Url).AddArgument($plainToken)
            $null = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $estimate = @($ps.Streams.Information | Where-Object { "$_" -like 'Sending 120 changes; this takes about*' })
            $estimate.Count | Should -Be 1
            $changing = @($ps.Streams.Progress | Where-Object { $_.Activity -eq 'Changing per-user MFA states' -and $_.RecordType -eq 'Processing' })
            $changing.Count | Should -BeGreaterThan 0
            ($changing | Where-Object { $_.StatusDescription -like "*paced to Graph's write budget (2,850 per 150 s)*" -and $_.SecondsRemaining -ge 0 }) | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
    }

    It 'stays under Graph''s write budget: no 429 from a throttling tenant' {
        $null = Set-SimConfig -Sim $sim -Settings @{ throttle = 'auto' }
        $ids = @((Get-Users).id)
        $errors = $null
        $ids | Set-PerUserMfaState -State Enforced -Force -JournalPath (New-JournalPath 'budget') -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 0
        @((Get-Users) | Where-Object perUserMfaState -NE 'enforced').Count | Should -Be 0
        $stats = Get-SimStats -Sim $sim
        $stats.sentDuringRetryAfter | Should -Be 0
    }

    It 'loses nobody to 1% injected 503s and dropped connections' {
        $null = Set-SimConfig -Sim $sim -Settings @{ fault503 = 0.01; dropRate = 0.01 }
        $ids = @((Get-Users).id)
        $journal = New-JournalPath 'faults'
        $errors = $null
        $result = $ids | Set-PerUserMfaState -State Disabled -Force -PassThru -JournalPath $journal -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 0
        @($result.Id | Sort-Object -Unique).Count | Should -Be $ids.Count
        @((Get-Users) | Where-Object perUserMfaState -NE 'disabled').Count | Should -Be 0
        $stats = Get-SimStats -Sim $sim
        ($stats.faults503 + $stats.dropped) | Should -BeGreaterThan 0 -Because 'faults were injected'
        $outcomes = @(Read-JournalLines $journal | Where-Object type -EQ 'outcome')
        @($outcomes.id | Sort-Object -Unique).Count | Should -Be $ids.Count
        @($outcomes | Where-Object outcome -EQ 'failed').Count | Should -Be 0
    }
}

Describe 'A run killed mid-way' {
    BeforeAll {
        Reset-SimTenant -Sim $sim
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 150; fault503 = 0; dropRate = 0; throttle = 'off' }
        $script:before = Get-Truth
        $script:ids = @((Get-Users | Select-Object -First 200).id)
        $script:needing = @($ids | Where-Object { $before[$_].perUserMfaState -ne 'disabled' })
        $script:journal = New-JournalPath 'killed'
        $usersFile = Join-Path $TestDrive 'users.txt'
        $ids | Set-Content -LiteralPath $usersFile
        $child = Join-Path $TestDrive 'child.ps1'
        @'
param($Module, $Url, $Token, $Journal, $UsersFile)
$ErrorActionPreference = 'Stop'
Import-Module $Module
Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
Get-Content -LiteralPath $UsersFile | Set-PerUserMfaState -State Disabled -Force -JournalPath $Journal -ThrottleLimit 10
'@ | Set-Content -LiteralPath $child

        $command = Get-PowerShellCommand
        $startInfo = [System.Diagnostics.ProcessStartInfo]::new($command.FilePath)
        Add-ProcessArgument $startInfo (@($command.Arguments) + @('-NoProfile', '-NonInteractive', '-File', $child,
                $env:PUMFA_TEST_MODULE, $sim.Url, $plainToken, $journal, $usersFile))
        $startInfo.UseShellExecute = $false
        $startInfo.RedirectStandardOutput = $true
        $startInfo.RedirectStandardError = $true
        Reset-SimStats -Sim $sim
        $process = [System.Diagnostics.Process]::Start($startInfo)
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while ((Get-SimStats -Sim $sim).patches -lt 20) {
            if ($process.HasExited) { throw "The child ended before it could be killed: $($process.StandardError.ReadToEnd())" }
            if ([DateTime]::UtcNow -gt $deadline) { $process.Kill(); throw 'No PATCH landed within 120 s.' }
            Start-Sleep -Milliseconds 50
        }
        $process.Kill()
        $process.WaitForExit()
        # Requests the child had already sent still land (the simulator answers after its latency).
        Start-Sleep -Milliseconds 1000
        $script:landed = (Get-SimStats -Sim $sim).patches
    }

    It 'was killed after some PATCHes and before the last, leaving its journal behind' {
        $landed | Should -BeGreaterOrEqual 20
        $landed | Should -BeLessThan $needing.Count
        Test-Path -LiteralPath $journal | Should -BeTrue
        (Get-Content -LiteralPath $journal -TotalCount 1 | ConvertFrom-Json).type | Should -Be 'header'
    }

    It 'never sent a PATCH without its journal record on disk' {
        $text = Get-Content -LiteralPath $journal -Raw
        $sent = @((Get-Users) | Where-Object patchCount -GT 0)
        $sent.Count | Should -Be $landed
        foreach ($user in $sent) { $text | Should -Match ('"type":"sending","target":"[^"]*","id":"' + $user.id + '"') }
    }

    It '-ResumeJournal ends with exactly the requested changes and one PATCH per changed user' {
        $errors = $null
        $info = Set-PerUserMfaState -ResumeJournal $journal -Force -ErrorVariable errors -ErrorAction SilentlyContinue 6>&1
        $errors.Count | Should -Be 0
        ($info | ForEach-Object { "$_" }) -join "`n" | Should -Match 'Resuming the set run of'
        $after = Get-Truth
        foreach ($id in $after.Keys) {
            if ($ids -contains $id) {
                $after[$id].perUserMfaState | Should -Be 'disabled'
                $after[$id].patchCount | Should -Be ([int]($before[$id].perUserMfaState -ne 'disabled')) -Because "$id is changed exactly once"
            }
            else {
                $after[$id].perUserMfaState | Should -Be $before[$id].perUserMfaState
                $after[$id].patchCount | Should -Be 0
            }
        }
        $lines = @(Read-JournalLines $journal)
        @($lines | Where-Object type -EQ 'resume').Count | Should -Be 1
    }

    It 'has nothing left to resume afterwards' {
        $info = Set-PerUserMfaState -ResumeJournal $journal -Force 6>&1
        "$info" | Should -BeLike 'Nothing to resume*'
    }

    AfterAll { $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0 } }
}

Describe 'Undo-PerUserMfaChange' {
    BeforeEach { Reset-SimTenant -Sim $sim }

    It 'puts every changed account back to its exact previous state, and only those' {
        $before = Get-Truth
        # Graph stores Enforced when Enabled is set on a user with MFA methods (next test), so these
        # users could not get Enabled back; every other state round-trips exactly.
        $ids = @((Get-Users | Where-Object { -not ($_.perUserMfaState -eq 'enabled' -and $_.hasMfaMethods) } | Select-Object -First 150).id)
        $journal = New-JournalPath 'set'
        $ids | Set-PerUserMfaState -State Enforced -Force -JournalPath $journal
        $changed = @($ids | Where-Object { $before[$_].perUserMfaState -ne 'enforced' })

        $undoJournal = New-JournalPath 'undo'
        $result = Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath $undoJournal -Force -PassThru
        $result.Count | Should -Be $changed.Count
        $after = Get-Truth
        foreach ($id in $after.Keys) {
            $after[$id].perUserMfaState | Should -Be $before[$id].perUserMfaState -Because "$id is back where it was"
            $after[$id].patchCount | Should -Be $(if ($changed -contains $id) { 2 } else { 0 })
        }
        foreach ($r in $result) {
            $r.State | Should -Be $r.RequestedState
            $r.JournalPath | Should -Be $undoJournal
        }
        $header = Get-Content -LiteralPath $undoJournal -TotalCount 1 | ConvertFrom-Json
        $header.operation | Should -Be 'undo'
        $header.undoOf | Should -Be $journal

        # Undoing again sends nothing: everyone is already back.
        Reset-SimStats -Sim $sim
        Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath (New-JournalPath 'undo2') -Force
        (Get-SimStats -Sim $sim).patches | Should -Be 0
    }

    It 'reports the state Graph ended with when it enforces instead of enabling' {
        $user = Get-Users | Where-Object { $_.perUserMfaState -eq 'enabled' -and $_.hasMfaMethods } | Select-Object -First 1
        $journal = New-JournalPath 'enabled'
        Set-PerUserMfaState -UserId $user.id -State Disabled -Force -JournalPath $journal
        $result = Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath $TestDrive -Force -PassThru
        $result.RequestedState | Should -Be 'Enabled'
        $result.State | Should -Be 'Enforced'
    }

    It '-WhatIf sends nothing' {
        $journal = New-JournalPath 'set'
        @((Get-Users | Select-Object -First 30).id) | Set-PerUserMfaState -State Enforced -Force -JournalPath $journal
        Reset-SimStats -Sim $sim
        Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath $TestDrive -WhatIf
        (Get-SimStats -Sim $sim).patches | Should -Be 0
    }
}

Describe 'Damaged journals' {
    BeforeAll {
        Reset-SimTenant -Sim $sim
        $script:source = New-JournalPath 'source'
        @((Get-Users | Select-Object -First 20).id) | Set-PerUserMfaState -State Enforced -Force -JournalPath $source
        $script:bytes = [System.IO.File]::ReadAllBytes($source)
        $script:lines = [System.IO.File]::ReadAllLines($source)
    }

    It 'tolerates a last line cut mid-way (as a kill leaves it) with a warning' {
        # A run killed while writing its last outcome: no end record, the outcome cut mid-way.
        $body = [System.Text.Encoding]::UTF8.GetBytes((($lines | Select-Object -SkipLast 1) -join "`n") + "`n")
        $kept = $body[0..($body.Length - 30)]
        $torn = New-JournalPath 'torn'
        [System.IO.File]::WriteAllBytes($torn, $kept)
        $warnings = $null
        Undo-PerUserMfaChange -JournalPath $torn -WhatIf -WarningVariable warnings -WarningAction SilentlyContinue
        $cut = @($warnings | Where-Object { "$_" -like '*(line *) is incomplete*' })
        $cut.Count | Should -Be 1
        "$($cut[0])" | Should -BeLike "*$torn*line $($lines.Count - 1)*incomplete*"
        # Without its end record the journal as a whole is incomplete too, and the undo says what that means.
        @($warnings | Where-Object { "$_" -like "*'$torn' is incomplete*" }).Count | Should -Be 1
        # The user whose outcome was cut off counts as unfinished; the undo says how it treats them.
        @($warnings | Where-Object { "$_" -like '*was interrupted*' }).Count | Should -Be 1

        # Resuming terminates the cut line (the file stays append-only), finishes that user and ends the run.
        Reset-SimStats -Sim $sim
        Set-PerUserMfaState -ResumeJournal $torn -Force -WarningAction SilentlyContinue
        (Get-SimStats -Sim $sim).patches | Should -Be 0 -Because 'the cut-off user was already changed'
        $warnings = $null
        Undo-PerUserMfaChange -JournalPath $torn -WhatIf -WarningVariable warnings
        $warnings.Count | Should -Be 0
        [System.IO.File]::ReadAllBytes($torn)[0..($kept.Length - 1)] | Should -Be $kept
    }

    It 'refuses a journal edited in the middle with an error naming the file and the line' -TestCases @(
        @{ Edit = 'a changed value'; Change = { param($l) $l -replace '"enforced"', '"disabled"' } }
        @{ Edit = 'a line cut short'; Change = { param($l) $l.Substring(0, 40) } }
        @{ Edit = 'a removed line'; Change = { param($l) $null } }
    ) {
        $edited = New-JournalPath 'edited'
        $copy = [System.Collections.Generic.List[string]]::new([string[]]$lines)
        $replacement = & $Change $copy[2]
        if ($null -eq $replacement) { $copy.RemoveAt(2) } else { $copy[2] = $replacement }
        [System.IO.File]::WriteAllLines($edited, $copy)
        Reset-SimStats -Sim $sim
        $caught = $null
        try { Undo-PerUserMfaChange -JournalPath $edited -Force } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.InvalidInput*'
        $caught.Exception | Should -BeOfType ([PerUserMfa.PerUserMfaException])
        $caught.Exception.Message | Should -BeLike "*'$edited'*line 3*"
        $caught.Exception.Message | Should -Not -Match '\s+at \S+\('
        (Get-SimStats -Sim $sim).patches | Should -Be 0
        $caught = $null
        try { Set-PerUserMfaState -ResumeJournal $edited -Force } catch { $caught = $_ }
        $caught.Exception.Message | Should -BeLike "*line 3*"
    }

    It 'says a missing journal does not exist' {
        { Undo-PerUserMfaChange -JournalPath (Join-Path $TestDrive 'missing.jsonl') -Force } | Should -Throw -ExpectedMessage '*does not exist*'
    }
}

Describe 'The same account given twice' {
    BeforeEach { Reset-SimTenant -Sim $sim }

    It 'is changed once (one PATCH), reported, and put back by the undo' {
        $adele = Get-PlainUser 'enabled' | Select-Object -First 1
        $journal = New-JournalPath 'twice'
        $warnings = $null
        $info = Set-PerUserMfaState -UserId $adele.userPrincipalName, $adele.id -State Disabled -Force -JournalPath $journal -ThrottleLimit 60 -WarningVariable warnings 6>&1
        (Get-SimStats -Sim $sim).patches | Should -Be 1
        @($warnings | Where-Object { "$_" -like "*'$($adele.id)' is the same account as '$($adele.userPrincipalName)'*changed once*" }).Count | Should -Be 1
        $summary = "$(@($info)[-1])"
        $summary | Should -Match 'Changed:\s+1\s'
        $summary | Should -Match 'Already in state:\s+0'
        $summary | Should -Match 'Given twice:\s+1'

        Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath $TestDrive -Force
        (Get-Truth)[$adele.id].perUserMfaState | Should -Be 'enabled' -Because 'the undo restores what the run changed'
    }
}

Describe 'Undo after someone else changed an account' {
    BeforeEach { Reset-SimTenant -Sim $sim }

    It 'leaves that account alone with a warning, unless -IncludeChangedSince' {
        $users = @(Get-PlainUser 'disabled' | Select-Object -First 3)
        $journal = New-JournalPath 'since'
        $users.id | Set-PerUserMfaState -State Enforced -Force -JournalPath $journal
        Set-StateAsAnotherAdmin -Id $users[0].id -State 'enabled'
        Reset-SimStats -Sim $sim

        $warnings = $null
        $info = Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath $TestDrive -Force -PassThru -WarningVariable warnings -InformationVariable messages
        @($warnings | Where-Object { "$_" -like "*changed since by someone else; not undone*-IncludeChangedSince*" }).Count | Should -Be 1
        (Get-SimStats -Sim $sim).patches | Should -Be 2
        $truth = Get-Truth
        $truth[$users[0].id].perUserMfaState | Should -Be 'enabled' -Because 'the other admin''s change stays'
        $truth[$users[1].id].perUserMfaState | Should -Be 'disabled'
        $truth[$users[2].id].perUserMfaState | Should -Be 'disabled'
        "$(@($messages)[-1])" | Should -Match 'Changed since:\s+1'

        Undo-PerUserMfaChange -JournalPath $journal -UndoJournalPath $TestDrive -Force -IncludeChangedSince
        (Get-Truth)[$users[0].id].perUserMfaState | Should -Be 'disabled'
    }
}

Describe 'Resuming a change Graph refused' {
    BeforeAll { Reset-SimTenant -Sim $sim }
    AfterAll { Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $plainToken -AsPlainText -Force) -GraphEndpoint $sim.Url }

    It 'sends it again even when the helpdesk changed the account meanwhile' {
        $user = Get-PlainUser 'enabled' | Select-Object -First 1
        $journal = New-JournalPath 'refused'
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url
        $errors = $null
        Set-PerUserMfaState -UserId $user.id -State Disabled -Force -JournalPath $journal -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        (Get-Truth)[$user.id].perUserMfaState | Should -Be 'enabled'

        Set-StateAsAnotherAdmin -Id $user.id -State 'enforced'
        Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $plainToken -AsPlainText -Force) -GraphEndpoint $sim.Url
        Set-PerUserMfaState -ResumeJournal $journal -Force
        (Get-Truth)[$user.id].perUserMfaState | Should -Be 'disabled' -Because 'the refused change never landed'
    }
}

Describe 'Journals that are incomplete, locked or of another tenant' {
    BeforeAll {
        Reset-SimTenant -Sim $sim
        $script:complete = New-JournalPath 'complete'
        @((Get-Users | Select-Object -First 40).id) | Set-PerUserMfaState -State Enforced -Force -JournalPath $complete
    }

    It 'records tenant, app and a closing record' {
        $lines = @(Read-JournalLines $complete)
        $token = $plainToken.Split('.')[1].Replace('-', '+').Replace('_', '/')
        $claims = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($token.PadRight($token.Length + (4 - $token.Length % 4) % 4, '='))) | ConvertFrom-Json
        $lines[0].tenantId | Should -Be $claims.tid
        $lines[0].appId | Should -Be $claims.appid
        $lines[0].pid | Should -Be $PID
        $lines[-1].type | Should -Be 'end'
    }

    It 'says in Undo -WhatIf and in the summary what a journal cut at a line boundary means' {
        $cut = New-JournalPath 'cut'
        $lines = [System.IO.File]::ReadAllLines($complete)
        [System.IO.File]::WriteAllLines($cut, $lines[0..($lines.Count - 11)])
        $warnings = $null
        $info = Undo-PerUserMfaChange -JournalPath $cut -WhatIf -WarningVariable warnings 6>&1
        @($warnings | Where-Object { "$_" -like "*'$cut' is incomplete*cannot be undone from this journal*-ResumeJournal*" }).Count | Should -Be 1
        "$(@($info | Where-Object { "$_" -like 'What if:*' }))" | Should -BeLike '*is incomplete*'
        $info = Undo-PerUserMfaChange -JournalPath $cut -UndoJournalPath $TestDrive -Force -WarningAction SilentlyContinue 6>&1
        "$(@($info)[-1])" | Should -BeLike '*is incomplete*'
        $info = Undo-PerUserMfaChange -JournalPath $complete -WhatIf -WarningVariable warnings 6>&1
        @($warnings | Where-Object { "$_" -like '*incomplete*' }).Count | Should -Be 0
    }

    It 'refuses to undo or resume a journal of another tenant' {
        $other = Start-GraphSim -Users 20 -Seed 77
        try {
            Connect-PerUserMfa -AccessToken (New-SimToken -Sim $other -Roles (Get-WriteRoles)) -GraphEndpoint $other.Url
            $tenant = (Read-JournalLines $complete)[0].tenantId
            { Undo-PerUserMfaChange -JournalPath $complete -WhatIf } | Should -Throw -ExpectedMessage "*records a run in tenant $tenant*"
            { Set-PerUserMfaState -ResumeJournal $complete -Force } | Should -Throw -ExpectedMessage "*records a run in tenant $tenant*"
            (Get-SimStats -Sim $other).requirementsGets | Should -Be 0
        }
        finally {
            Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $plainToken -AsPlainText -Force) -GraphEndpoint $sim.Url
            Stop-GraphSim $other
        }
    }

    It 'refuses a resume or an undo while another process runs on the journal, and Ctrl+C prints the resume command' {
        Reset-SimTenant -Sim $sim
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 200 }
        $journal = New-JournalPath 'locked'
        $usersFile = Join-Path $TestDrive 'locked-users.txt'
        @((Get-Users | Where-Object perUserMfaState -NE 'disabled' | Select-Object -First 100).id) | Set-Content -LiteralPath $usersFile
        $child = Join-Path $TestDrive 'locked-child.ps1'
        @'
param($Module, $Url, $Token, $Journal, $UsersFile)
Import-Module $Module
Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
Get-Content -LiteralPath $UsersFile | Set-PerUserMfaState -State Disabled -Force -JournalPath $Journal -ThrottleLimit 2
'@ | Set-Content -LiteralPath $child
        $command = Get-PowerShellCommand
        $startInfo = [System.Diagnostics.ProcessStartInfo]::new($command.FilePath)
        Add-ProcessArgument $startInfo (@($command.Arguments) + @('-NoProfile', '-File', $child, $env:PUMFA_TEST_MODULE, $sim.Url, $plainToken, $journal, $usersFile))
        $startInfo.UseShellExecute = $false
        $startInfo.RedirectStandardOutput = $true
        $startInfo.RedirectStandardError = $true
        Reset-SimStats -Sim $sim
        $process = [System.Diagnostics.Process]::Start($startInfo)
        $output = $process.StandardOutput.ReadToEndAsync()
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while ((Get-SimStats -Sim $sim).patches -lt 3) {
                if ($process.HasExited) { throw "The child ended early: $($process.StandardError.ReadToEnd())" }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'No PATCH within 120 s.' }
                Start-Sleep -Milliseconds 50
            }
            { Set-PerUserMfaState -ResumeJournal $journal -Force } | Should -Throw -ExpectedMessage "*in use by process $($process.Id)*"
            { Undo-PerUserMfaChange -JournalPath $journal -Force } | Should -Throw -ExpectedMessage "*in use by process $($process.Id)*"
            $err = $null
            try { Undo-PerUserMfaChange -JournalPath $journal -Force } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.JournalInUse*'
            $err.CategoryInfo.Category | Should -Be 'ResourceBusy'
            # $IsWindows does not exist on Windows PowerShell 5.1 (it came with PowerShell 6).
            if (-not ($PSVersionTable.PSEdition -eq 'Desktop' -or $IsWindows)) {
                # Ctrl+C in the console the child runs in.
                & kill -s INT $process.Id
                $process.WaitForExit(60000) | Should -BeTrue
                $output.Result | Should -BeLike "*Set-PerUserMfaState -ResumeJournal '$journal'*"
            }
        }
        finally {
            if (-not $process.HasExited) { $process.Kill() }
            $process.WaitForExit()
            $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0 }
        }
        # The process is gone and with it the lock: the run can be finished.
        Set-PerUserMfaState -ResumeJournal $journal -Force
        foreach ($id in Get-Content -LiteralPath $usersFile) { (Get-Truth)[$id].perUserMfaState | Should -Be 'disabled' }
    }
}

Describe 'Journals from the pipeline' {
    BeforeAll { Reset-SimTenant -Sim $sim }

    It 'binds a file from Get-ChildItem and a run''s results, undoing each journal once' {
        $users = @(Get-PlainUser 'disabled' | Select-Object -First 5)
        $journal = New-JournalPath 'piped'
        $results = $users.id | Set-PerUserMfaState -State Enforced -Force -PassThru -JournalPath $journal
        Reset-SimStats -Sim $sim
        Get-ChildItem -LiteralPath $journal | Undo-PerUserMfaChange -WhatIf
        (Get-SimStats -Sim $sim).patches | Should -Be 0
        $results | Undo-PerUserMfaChange -UndoJournalPath $TestDrive -Force
        (Get-SimStats -Sim $sim).patches | Should -Be 5 -Because 'one journal, undone once'
        foreach ($u in $users) { (Get-Truth)[$u.id].perUserMfaState | Should -Be 'disabled' }
    }

    It '-Last undoes the latest run in the default folder' {
        $user = Get-PlainUser 'disabled' | Select-Object -First 1
        Set-PerUserMfaState -UserId $user.id -State Enforced -Force
        $info = Undo-PerUserMfaChange -Last -Force 6>&1
        "$(@($info)[0])" | Should -BeLike "Undoing the latest run: $([System.IO.Path]::GetFullPath($env:PERUSERMFA_JOURNAL_DIR))*-set-Enforced-*"
        (Get-Truth)[$user.id].perUserMfaState | Should -Be 'disabled'
    }
}
