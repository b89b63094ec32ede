#Requires -Modules Pester
<#
    Behaviour at scale, seen from PowerShell: both read paths, $batch concurrency limits,
    throttling and faults losing nobody, progress, and Ctrl+C (StopProcessing) returning at once.
    Timings here are behaviour checks with generous bounds; throughput figures live in
    BENCHMARKS.md (build.ps1 Benchmark).
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force

    function script:Test-EachUserOnce($Objects, $Errors, [string[]] $Expected) {
        $seen = @{}
        foreach ($o in $Objects) { $seen[$o.Id] = 1 + [int]$seen[$o.Id] }
        foreach ($e in $Errors) { $seen[[string]$e.TargetObject] = 1 + [int]$seen[[string]$e.TargetObject] }
        $duplicates = @($seen.Keys | Where-Object { $seen[$_] -ne 1 })
        $missing = @($Expected | Where-Object { -not $seen.ContainsKey($_) })
        $duplicates.Count | Should -Be 0 -Because 'no user is reported twice'
        $missing.Count | Should -Be 0 -Because 'no user is lost'
        $seen.Count | Should -Be $Expected.Count
    }
}

Describe 'The per-user path' {
    BeforeAll {
        $script:sim = Start-GraphSim -Users 1500 -Seed 21 -ExtraArguments '--no-bulk-state'
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url
    }
    AfterAll { Stop-GraphSim $sim }

    It 'is used without the admin doing anything when the listing has no states, and says so with -Verbose' {
        $verbose = $null
        $result = Get-PerUserMfaState -All -Verbose 4>&1 | Tee-Object -Variable everything | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose = $everything | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'per-user path'
        $truth = Get-SimUser -Sim $sim
        $result.Count | Should -Be $truth.Count
        $stats = Get-SimStats -Sim $sim
        $stats.requirementsGets | Should -BeGreaterOrEqual $truth.Count
        $stats.batchEnvelopes | Should -BeLessThan ($truth.Count / 10) -Because 'requests travel 20 to a $batch'
    }

    It 'keeps at most -ThrottleLimit requests in flight' {
        Reset-SimStats -Sim $sim
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 20 }
        $result = Get-PerUserMfaState -All -ThrottleLimit 20
        $null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0 }
        $result.Count | Should -Be 1500
        # 20 requests in flight = one $batch at a time (plus a listing page).
        (Get-SimStats -Sim $sim).maxInFlight | Should -BeLessOrEqual 2
    }
}

Describe 'The bulk path' {
    BeforeAll {
        $script:sim = Start-GraphSim -Users 1500 -Seed 22
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url
    }
    AfterAll { Stop-GraphSim $sim }

    It 'reads a page of states per request and says so with -Verbose' {
        $everything = Get-PerUserMfaState -All -Verbose 4>&1
        $verbose = $everything | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'bulk read'
        @($everything | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Count | Should -Be 1500
        $stats = Get-SimStats -Sim $sim
        $stats.requirementsGets | Should -Be 0
        $stats.listPages | Should -Be 2
    }

    It 'gives the same answer as the per-user path' {
        $bulk = Get-PerUserMfaState -All | Sort-Object Id | ForEach-Object { "$($_.Id)=$($_.PerUserMfaState)" }
        $null = Set-SimConfig -Sim $sim -Settings @{ bulkState = $false }
        $perUser = Get-PerUserMfaState -All | Sort-Object Id | ForEach-Object { "$($_.Id)=$($_.PerUserMfaState)" }
        $null = Set-SimConfig -Sim $sim -Settings @{ bulkState = $true }
        $perUser | Should -Be $bulk
    }
}

Describe 'Throttling and faults' {
    It 'loses nobody when Graph throttles (429 with Retry-After inside $batch)' {
        $sim = Start-GraphSim -Users 400 -Seed 23 -ExtraArguments '--no-bulk-state', '--throttle', 'auto', '--read-budget', '250'
        try {
            Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url
            $errors = $null
            $result = Get-PerUserMfaState -All -ErrorVariable errors -ErrorAction SilentlyContinue
            Test-EachUserOnce $result $errors (Get-SimUser -Sim $sim).id
            $errors.Count | Should -Be 0
        }
        finally { Stop-GraphSim $sim }
    }

    It 'reports every user exactly once with 1% 503s and 0.5% dropped connections (<Command>)' -TestCases @(
        @{ Command = 'Get' }
        @{ Command = 'Set' }
    ) {
        $sim = Start-GraphSim -Users 1000 -Seed 24 -ExtraArguments '--no-bulk-state', '--fault-503', '0.01', '--drop-rate', '0.005'
        try {
            Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-WriteRoles)) -GraphEndpoint $sim.Url
            $truth = Get-SimUser -Sim $sim
            $errors = $null
            if ($Command -eq 'Get') {
                $result = $truth.id | Get-PerUserMfaState -ErrorVariable errors -ErrorAction SilentlyContinue
            }
            else {
                $result = $truth.id | Set-PerUserMfaState -State Enforced -PassThru -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
            }
            Test-EachUserOnce $result $errors $truth.id
            $stats = Get-SimStats -Sim $sim
            ($stats.faults503 + $stats.dropped) | Should -BeGreaterThan 0 -Because 'faults were injected'
            if ($Command -eq 'Set') {
                @((Get-SimUser -Sim $sim) | Where-Object perUserMfaState -NE 'enforced').Count | Should -Be 0
            }
        }
        finally { Stop-GraphSim $sim }
    }
}

Describe 'A long run' {
    BeforeAll {
        $script:sim = Start-GraphSim -Users 20000 -Seed 25 -ExtraArguments '--no-bulk-state', '--latency-ms', '50'
        $script:plainToken = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText

        function script:Start-Run([string] $Command) {
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                    param($Module, $Url, $Token, $Command)
                    Import-Module $Module
                    Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
                    $ProgressPreference = 'Continue'
                    Invoke-Expression $Command
                }).AddArgument($env:PUMFA_TEST_MODULE).AddArgument($sim.Url).AddArgument($plainToken).AddArgument($Command)
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            [pscustomobject]@{ PowerShell = $ps; Handle = $handle; Output = $output }
        }
    }
    AfterAll { Stop-GraphSim $sim }

    It 'stops within a second on Ctrl+C and leaves nothing running' {
        $run = Start-Run 'Get-PerUserMfaState -All | Out-Null'
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-SimStats -Sim $sim).requirementsGets -lt 500 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Get-SimStats -Sim $sim).requirementsGets | Should -BeGreaterOrEqual 500
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $run.PowerShell.Stop()
        $clock.Stop()
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 1
        $run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
        Start-Sleep -Milliseconds 300
        $before = (Get-SimStats -Sim $sim).requests
        Start-Sleep -Milliseconds 700
        (Get-SimStats -Sim $sim).requests | Should -Be $before -Because 'no request is sent after the stop'
        $run.PowerShell.Dispose()
    }

    It 'reports progress with done/total, rate and time left' {
        # Unpaced, the adaptive window reads 3,000 users before the first progress tick (500 ms):
        # 60 in flight keeps this run a few seconds long.
        $run = Start-Run 'Get-PerUserMfaState -All -ThrottleLimit 60 | Select-Object -First 3000 | Out-Null'
        $null = $run.PowerShell.EndInvoke($run.Handle)
        $records = @($run.PowerShell.Streams.Progress)
        $run.PowerShell.Dispose()
        $records.Count | Should -BeGreaterThan 0
        $withTotal = @($records | Where-Object { $_.PercentComplete -gt 0 })
        $withTotal.Count | Should -BeGreaterThan 0
        $withTotal[0].StatusDescription | Should -Match '\d+ of 20000 users, \d+/s'
        @($records | Where-Object { $_.SecondsRemaining -gt 0 }).Count | Should -BeGreaterThan 0
    }
}
