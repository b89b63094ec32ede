#Requires -Modules Pester
<#
    Time and progress that tell the truth, and -Verbose that says what a run does, against
    graph-sim. A bulk change's estimate comes from the write budget the session learnt (the -WhatIf
    and confirmation line and the run's first line agree); a wait for Graph's write budget shows as
    "waiting N s" and counts down; a resumed run says it re-reads the journal's users; -Verbose
    names the $batch traffic and the budget each run paces to. Each bulk run here runs in its own
    runspace (a connection, and so the throttle gate that learns the budget, belongs to one).
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:sim = Start-GraphSim -Users 300 -Seed 43
    $script:plainToken = New-SimToken -Sim $sim -Roles (Get-WriteRoles) -AsPlainText
    Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $plainToken -AsPlainText -Force) -GraphEndpoint $sim.Url

    function script:Get-Users { $users = Get-SimUser -Sim $sim; $users }
    function script:New-JournalPath([string] $Name) { Join-Path $TestDrive "$Name-$([guid]::NewGuid().ToString('N').Substring(0, 8)).jsonl" }

    # A runspace signed in on its own: its session (and throttle gate) lives across the commands run in it.
    function script:New-SignedInShell {
        $shell = [powershell]::Create()
        $null = $shell.AddScript({
                param($Module, $Url, $Token)
                Import-Module $Module
                Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
            }).AddArgument($env:PUMFA_TEST_MODULE).AddArgument($sim.Url).AddArgument($plainToken)
        $null = $shell.Invoke()
        $shell.Commands.Clear()
        $shell
    }

    # Starts $Script in $Shell without waiting; its streams fill as it runs.
    function script:Start-InShell($Shell, [scriptblock] $Script, [object[]] $Arguments) {
        $Shell.Commands.Clear()
        foreach ($stream in 'Progress', 'Information', 'Verbose', 'Error', 'Warning') { $Shell.Streams.$stream.Clear() }
        $null = $Shell.AddScript($Script)
        foreach ($argument in $Arguments) { $null = $Shell.AddArgument($argument) }
        $Shell.BeginInvoke()
    }

    # Waits until $Condition holds (checked every 100 ms) or $Seconds pass; returns whether it held.
    function script:Wait-Until([scriptblock] $Condition, [int] $Seconds) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (& $Condition) { return $true }
            Start-Sleep -Milliseconds 100
        }
        return [bool](& $Condition)
    }

    # 'about 2 min 30 s' -> 150.
    function script:ConvertFrom-Duration([string] $Text) {
        if ($Text -eq 'about a second') { return 1 }
        $seconds = 0
        if ($Text -match '(\d+) h') { $seconds += 3600 * [int]$Matches[1] }
        if ($Text -match '(\d+) min') { $seconds += 60 * [int]$Matches[1] }
        if ($Text -match '(\d+) s\b') { $seconds += [int]$Matches[1] }
        $seconds
    }
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'A bulk change paced by Graph''s write budget' {
    BeforeAll {
        Reset-SimTenant -Sim $sim
        # 30 writes per 150 s: the first run meets Graph's 429 (with Retry-After) after 30 PATCHes.
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 100; throttle = 'auto'; writeBudget = 30 }
        $targets = @(Get-Users | Where-Object perUserMfaState -NE 'disabled')
        $script:firstIds = @($targets | Select-Object -First 60).id
        $script:secondIds = @($targets | Select-Object -Skip 60 -First 20).id
        $script:shell = New-SignedInShell
        $script:firstJournal = New-JournalPath 'paced'
    }

    AfterAll {
        $shell.Dispose()
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0; throttle = 'off'; writeBudget = $null }
    }

    It 'shows a wait for the write budget as "waiting N s" and counts it down' {
        $run = Start-InShell $shell {
            param($Ids, $Journal)
            $ProgressPreference = 'Continue'
            $Ids | Set-PerUserMfaState -State Disabled -Force -JournalPath $Journal
        } @(, $firstIds), $firstJournal
        $waits = { @($shell.Streams.Progress | Where-Object { $_.StatusDescription -match "waiting (\d+) s for Graph's write budget" } | ForEach-Object { [int]([regex]::Match($_.StatusDescription, 'waiting (\d+) s').Groups[1].Value) } | Select-Object -Unique) }
        $counted = Wait-Until { (& $waits).Count -ge 3 } 90
        $seen = & $waits
        $shell.Stop()
        $counted | Should -BeTrue -Because "the wait is shown and counts down (seen: $($seen -join ', '); statuses: $(@($shell.Streams.Progress | Select-Object -Last 3 | ForEach-Object StatusDescription) -join ' | '))"
        $seen[0] | Should -BeGreaterThan 60 -Because 'Graph asked for most of its 150 s window'
        for ($i = 1; $i -lt $seen.Count; $i++) { $seen[$i] | Should -BeLessThan $seen[$i - 1] }
        $null = $run
    }

    It 'estimates the next run from the budget it learnt: -WhatIf and the run''s first line say the same' {
        $null = Start-InShell $shell {
            param($Ids)
            $Ids | Set-PerUserMfaState -State Disabled -WhatIf
        } @(, $secondIds)
        $null = Wait-Until { $shell.InvocationStateInfo.State -ne 'Running' } 60
        $whatIf = @($shell.Streams.Information | ForEach-Object { "$_" } | Where-Object { $_ -like 'What if: 20 accounts*' })
        $whatIf.Count | Should -Be 1 -Because (($shell.Streams.Information | ForEach-Object { "$_" }) -join "`n")
        $whatIf[0] -match '\((about [^)]+)\)' | Should -BeTrue -Because $whatIf[0]
        $planned = ConvertFrom-Duration $Matches[1]

        $null = Start-InShell $shell {
            param($Ids, $Journal)
            $Ids | Set-PerUserMfaState -State Disabled -Force -JournalPath $Journal -Verbose
        } @(, $secondIds), (New-JournalPath 'estimated')
        $sending = { @($shell.Streams.Information | ForEach-Object { "$_" } | Where-Object { $_ -like 'Sending 20 changes*' }) }
        $said = Wait-Until { (& $sending).Count -gt 0 } 60
        # The pacing lines come with the first PATCH's admission.
        $null = Wait-Until { @($shell.Streams.Verbose | Where-Object { $_.Message -like 'Waiting * s for room in Graph''s write budget*' }).Count -gt 0 } 20
        $shell.Stop()
        $said | Should -BeTrue
        $line = @(& $sending)[0]
        $line -match 'this takes (about [^.]+)\.' | Should -BeTrue -Because $line
        $first = ConvertFrom-Duration $Matches[1]
        $planned | Should -BeGreaterOrEqual 60 -Because 'the 30 writes already in the window hold the next ones for most of 150 s (a fresh window would say about a second)'
        [math]::Abs($first - $planned) | Should -BeLessOrEqual 20 -Because "the plan said $planned s and the run $first s"

        $verbose = @($shell.Streams.Verbose | ForEach-Object Message)
        $verbose | Where-Object { $_ -like "Pacing write requests to * per 150 s (held at what was let through before Graph's last 429*" } | Should -Not -BeNullOrEmpty -Because ($verbose -join "`n")
        $verbose | Where-Object { $_ -like "Waiting * s for room in Graph's write budget: * per 150 s used*" } | Should -Not -BeNullOrEmpty -Because ($verbose -join "`n")
    }

    It 'says, while a resumed run plans, that it re-reads the journal''s users (not "still listing")' {
        $null = Start-InShell $shell {
            param($Journal)
            $ProgressPreference = 'Continue'
            Set-PerUserMfaState -ResumeJournal $Journal -Force
        } $firstJournal
        $planning = { @($shell.Streams.Progress | Where-Object { $_.Activity -eq 'Reading per-user MFA states before changing them' -and $_.RecordType -eq 'Processing' }) }
        $null = Wait-Until { (& $planning).Count -gt 0 -or $shell.InvocationStateInfo.State -ne 'Running' } 60
        $null = Wait-Until { @($shell.Streams.Progress | Where-Object Activity -EQ 'Changing per-user MFA states').Count -gt 0 -or $shell.InvocationStateInfo.State -ne 'Running' } 30
        $shell.Stop()
        $statuses = @(& $planning | ForEach-Object StatusDescription)
        $statuses | Should -Not -BeNullOrEmpty
        # The users the stopped run had not finished (it was stopped at Graph's 429, after about 30).
        foreach ($status in $statuses) {
            $status -match '^Re-reading the current state of (\d+) users from the journal: \d+ of (\d+) users' | Should -BeTrue -Because $status
            $Matches[1] | Should -Be $Matches[2]
            [int]$Matches[1] | Should -BeGreaterThan 0
            [int]$Matches[1] | Should -BeLessThan 60
        }
        @($shell.Streams.Progress | Where-Object StatusDescription -Like '*still listing*') | Should -BeNullOrEmpty
    }
}

Describe '-Verbose says what a run does' {
    BeforeAll {
        Reset-SimTenant -Sim $sim
        # No states in the listing: every state is read per user, through $batch.
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0; throttle = 'off'; bulkState = $false }
    }

    AfterAll { $null = Set-SimConfig -Sim $sim -Settings @{ bulkState = $true } }

    It 'names the $batch traffic (batches sent, sub-requests per batch, retries) and the read budget it paces to' {
        $verbose = @(Get-PerUserMfaState -All -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $text = $verbose -join "`n"
        $verbose | Where-Object { $_ -like 'Sending per-user requests in $batch requests of up to 20 sub-requests; at first * sub-requests in flight*' } | Should -Not -BeNullOrEmpty -Because $text
        $total = @($verbose | Where-Object { $_ -match '^\$batch in all: (\d+) sent carrying (\d+) sub-requests \(([0-9.]+) per batch\), (\d+) sub-requests retried; the in-flight window peaked at \d+\.$' })
        $total.Count | Should -Be 1 -Because $text
        [int]$Matches[2] | Should -Be 300 -Because 'one state read per user'
        [int]$Matches[1] | Should -BeGreaterOrEqual 15
        $verbose | Where-Object { $_ -like 'Pacing read requests to 7760 per 10 s (97% of Graph''s 8000 per 10 s)*' } | Should -Not -BeNullOrEmpty -Because $text
    }
}
