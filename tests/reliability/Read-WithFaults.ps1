<#
.SYNOPSIS
    Reliability run: every user of a simulated tenant read through the built module while Graph
    misbehaves. Prints users in, rows out, error records, duplicates and wrong states, and exits 1
    unless every user came out exactly once with its true state. Figures: RELIABILITY.md.

.DESCRIPTION
    The simulator answers 1% of sub-requests (and of $batch envelopes) with 503, drops 0.5% of
    connections, and after -OutageAfterSeconds answers every Graph request 503 for -OutageSeconds
    (an outage), then goes back to the 1%/0.5%. By default the listing does not return
    perUserMfaState (--no-bulk-state), so every state is read per user through $batch: the path
    with the most requests to fail. -BulkState reads states from the listing pages instead.

.EXAMPLE
    dotnet pwsh -NoProfile -File tests/reliability/Read-WithFaults.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1 -SimulatorPath target/release/graph-sim
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [int] $Users = 100000,
    [double] $Fault503 = 0.01,
    [double] $DropRate = 0.005,
    [int] $OutageAfterSeconds = 15,
    [int] $OutageSeconds = 60,
    [int] $Seed = 7,
    [switch] $BulkState
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
Import-Module (Resolve-Path $ModuleManifest).Path -Force

$simArguments = @('--fault-503', $Fault503, '--drop-rate', $DropRate)
if (-not $BulkState) { $simArguments += '--no-bulk-state' }
$sim = Start-GraphSim -Users $Users -Seed $Seed -SimulatorPath (Resolve-Path $SimulatorPath).Path -ExtraArguments $simArguments
try {
    $truth = @{}
    # Get-SimUser writes the users as one array: the first ForEach-Object unrolls it.
    Get-SimUser -Sim $sim | ForEach-Object { $_ } | ForEach-Object { $truth[$_.id] = $_.perUserMfaState }
    Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url

    # The outage runs beside the read, on the simulator's clock of the script.
    $outage = Start-ThreadJob -ArgumentList $sim.Url, $OutageAfterSeconds, $OutageSeconds, $Fault503 {
        param($url, $after, $seconds, $rate)
        Start-Sleep -Seconds $after
        $began = Get-Date
        Invoke-RestMethod -Method Post -Uri "$url/_sim/config" -ContentType 'application/json' -Body (@{ fault503 = 1.0 } | ConvertTo-Json) | Out-Null
        Start-Sleep -Seconds $seconds
        Invoke-RestMethod -Method Post -Uri "$url/_sim/config" -ContentType 'application/json' -Body (@{ fault503 = $rate } | ConvertTo-Json) | Out-Null
        [pscustomobject]@{ Began = $began; Ended = Get-Date }
    }

    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $rowsById = @{}
    $duplicates = 0
    $wrong = 0
    $rows = 0
    $runErrors = @()
    $fatal = $null
    try {
        Get-PerUserMfaState -All -ErrorVariable +runErrors -ErrorAction SilentlyContinue | ForEach-Object {
            $rows++
            if ($rowsById.ContainsKey($_.Id)) { $duplicates++ } else { $rowsById[$_.Id] = $true }
            if (-not $truth.ContainsKey($_.Id) -or $truth[$_.Id] -ne $_.PerUserMfaState.ToString()) { $wrong++ }
        }
    }
    catch {
        $fatal = $_
    }
    $clock.Stop()
    $window = Receive-Job $outage -Wait -AutoRemoveJob
    $stats = Invoke-RestMethod -Uri "$($sim.Url)/_sim/stats"

    $missing = @($truth.Keys | Where-Object { -not $rowsById.ContainsKey($_) }).Count
    $result = [ordered]@{
        usersIn                = $truth.Count
        rowsOut                = $rows
        errorRecords           = $runErrors.Count
        terminatingError       = if ($fatal) { $fatal.Exception.Message } else { $null }
        missing                = $missing
        duplicates             = $duplicates
        wrongStates            = $wrong
        seconds                = [math]::Round($clock.Elapsed.TotalSeconds, 1)
        outageSeconds          = [math]::Round(($window.Ended - $window.Began).TotalSeconds, 1)
        path                   = if ($BulkState) { 'bulk listing' } else { 'per-user $batch' }
        simulatorRequests      = $stats.requests
        subRequests            = $stats.subRequests
        injected503            = $stats.faults503
        droppedConnections     = $stats.dropped
    }
    $result | ConvertTo-Json
    $runErrors | Select-Object -First 5 | ForEach-Object { Write-Host "error: $($_.TargetObject): $($_.Exception.Message)" }
    $ok = -not $fatal -and $rows -eq $truth.Count -and $missing -eq 0 -and $duplicates -eq 0 -and $wrong -eq 0 -and $runErrors.Count -eq 0
    Write-Host ($(if ($ok) { 'PASS' } else { 'FAIL' }) + ": $rows rows for $($truth.Count) users, $($runErrors.Count) errors, $duplicates duplicates, $wrong wrong states")
    if (-not $ok) { exit 1 }
}
finally {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}
