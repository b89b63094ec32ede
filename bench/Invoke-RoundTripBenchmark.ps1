<#
.SYNOPSIS
    Round-trip benchmark: does the module reach Graph's read ceiling whatever the round trip?
    Get-PerUserMfaState -All with default settings on the per-user path, against the simulator
    with Graph's documented read budget and Graph-like round trips of 20 ms to 2 s.

.DESCRIPTION
    For each round-trip profile P (the time a $batch of 20 requirement reads takes, which is what
    Graph's round trip means for this module), the simulator runs with:
      --latency-ms P/2 --jitter-ms P/10      the network round trip of every HTTP request
      --server-ms P/10 --tail-rate 0.03      server time per request, 3% of requests 5-10x slower
      --batch-overhead-ms P/10               a $batch costs its overhead plus its slowest request
      --page-ms $PageMs                      extra server time of a users page of 999
      --throttle auto                        Graph's budgets; 8,000 read units per 10 s over 500 users
      --no-bulk-state                        the listing carries no state: one read per user
    so a typical batch takes about P and a slow one (about half of them hold a tail request)
    up to 1.6 P. The module runs with default settings (no -ThrottleLimit). Each run prints users
    per second, the share of the read ceiling (8,000 units per 10 s = 800 users/s), the share of
    sub-requests Graph answered 429, and how many requests arrived while a Retry-After ran.

    Then, for the bulk path (Graph returns perUserMfaState in the listing), one run per page
    round trip in -PageRoundTripMs, to show what sequential paging costs.

.EXAMPLE
    dotnet pwsh bench/Invoke-RoundTripBenchmark.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1 -SimulatorPath target/release/graph-sim
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [int] $Users = 24000,
    # Round trip of a $batch of 20, per profile; 300 ms is the typical one.
    [int[]] $RoundTripMs = @(20, 100, 300, 1000, 2000),
    [int] $PageMs = 200,
    [double] $TailRate = 0.03,
    # Bulk path: the round trip of one users page, per run (0 runs: skip the bulk path).
    [int[]] $PageRoundTripMs = @(300, 1000),
    # Further simulator flags for every run, e.g. '--upn-range','refused' to measure the listing
    # one page after another (as before the parallel ranges) on the same build.
    [string[]] $ExtraSimArguments = @(),
    [string] $OutFile
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$SimulatorPath = (Resolve-Path $SimulatorPath).Path
Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
$measure = Join-Path $PSScriptRoot 'Measure-Run.ps1'
$pwsh = (Get-Process -Id $PID).Path
$pwshPrefix = @()
if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -ne 'pwsh') { $pwshPrefix = @('pwsh'); $pwsh = 'dotnet' }
$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "pumfa-roundtrip-$PID")
$readCeiling = 800   # 8,000 units per 10 s, one unit per requirements read

function Invoke-Measured([hashtable] $Arguments) {
    $argumentList = $pwshPrefix + @('-NoProfile', '-NonInteractive', '-File', $measure)
    foreach ($key in $Arguments.Keys) { $argumentList += "-$key"; $argumentList += [string]$Arguments[$key] }
    $output = & $pwsh @argumentList
    if ($LASTEXITCODE -ne 0) { throw "Measure-Run failed: $output" }
    ($output | Select-Object -Last 1) | ConvertFrom-Json
}

function Invoke-Scenario([string] $Name, [string[]] $SimArguments, [bool] $PerUser) {
    Write-Host "== $Name (simulator: $($SimArguments -join ' '))" -ForegroundColor Cyan
    $sim = Start-GraphSim -Users $Users -Seed 7 -ExtraArguments $SimArguments -SimulatorPath $SimulatorPath
    try {
        $token = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
        Reset-SimStats -Sim $sim
        $csv = Join-Path $work 'run.csv'
        $run = Invoke-Measured @{ Kind = 'Module'; GraphUrl = $sim.Url; Token = $token; ModuleManifest = $ModuleManifest; CsvPath = $csv }
        Remove-Item $csv -ErrorAction SilentlyContinue
        $stats = Get-SimStats -Sim $sim
    }
    finally { Stop-GraphSim $sim }
    $rate = $run.uniqueIds / [math]::Max($run.seconds, 0.001)
    $row = [pscustomobject][ordered]@{
        Scenario          = $Name
        Users             = $Users
        Seconds           = [math]::Round($run.seconds, 1)
        'Users/s'         = [math]::Round($rate, 1)
        'Of ceiling'      = if ($PerUser) { '{0:P0}' -f ($rate / $readCeiling) } else { 'n/a' }
        'Sub-requests'    = $stats.subRequests
        '429s'            = $stats.throttled429
        '429 share'       = if ($stats.subRequests) { '{0:P2}' -f ($stats.throttled429 / $stats.subRequests) } else { '0.00 %' }
        'Sent in pause'   = $stats.sentDuringRetryAfter
        'Max in flight'   = $stats.maxInFlight
        Errors            = $run.errors
        Missing           = $Users - $run.uniqueIds - $run.errors
    }
    $row | Format-List | Out-Host
    $row
}

$rows = [System.Collections.Generic.List[object]]::new()
try {
    foreach ($p in $RoundTripMs) {
        $simArgs = @(
            '--throttle', 'auto', '--no-bulk-state',
            '--latency-ms', [int]($p / 2), '--jitter-ms', [int]($p / 10),
            '--server-ms', [int]($p / 10), '--tail-rate', $TailRate, '--batch-overhead-ms', [int]($p / 10),
            '--page-ms', $PageMs) + $ExtraSimArguments
        $rows.Add((Invoke-Scenario "per-user path, $p ms round trip" $simArgs $true))
    }
    foreach ($p in $PageRoundTripMs) {
        $simArgs = @('--throttle', 'auto', '--latency-ms', $p, '--jitter-ms', [int]($p / 10)) + $ExtraSimArguments
        $rows.Add((Invoke-Scenario "bulk path, $p ms per page" $simArgs $false))
    }
}
finally {
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

$settings = "$Users users, default settings, Graph's read budget 8,000 units per 10 s (ceiling $readCeiling users/s), tail rate $TailRate, users page server time $PageMs ms"
Write-Host "`nSettings: $settings"
Write-Host ($rows | Format-Table -AutoSize | Out-String -Width 250)
if ($OutFile) {
    $header = '| ' + (($rows[0].PSObject.Properties.Name) -join ' | ') + ' |'
    $rule = '|' + (($rows[0].PSObject.Properties.Name | ForEach-Object { '---' }) -join '|') + '|'
    $lines = foreach ($row in $rows) { '| ' + (($row.PSObject.Properties.Value | ForEach-Object { "$_" }) -join ' | ') + ' |' }
    @("Settings: $settings", '', $header, $rule) + $lines | Set-Content $OutFile -Encoding utf8
    Write-Host "Table written to $OutFile"
}
