<#
.SYNOPSIS
    Throughput benchmark: the module against the loops admins run today, on the same simulated
    tenant with Graph's throttling, latency and page times. Run through `build.ps1 Benchmark`.

.DESCRIPTION
    For each tenant size, two simulator setups:
      bulk      Graph returns perUserMfaState in the users listing (one request per 999 users)
      per-user  it does not (--no-bulk-state): one requirements GET per user, through $batch
    On the largest per-user tenant it also times, by per-user rate on a sample of users:
      loop 1    foreach ($u in $users) { Invoke-RestMethod ... }           (sequential)
      loop 2    $users | ForEach-Object -Parallel { Invoke-RestMethod ... } -ThrottleLimit 20, and 50
    Every run is a fresh pwsh process; its peak memory growth is reported.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [int[]] $Sizes = @(1000, 10000, 100000),
    [int] $LatencyMs = 50,
    [int] $JitterMs = 10,
    # Server time for one users page of 999 (Graph takes a few hundred ms for a full page).
    [int] $PageMs = 200,
    [int] $SequentialSample = 300,
    [int] $Parallel20Sample = 6000,
    [int] $Parallel50Sample = 15000,
    [switch] $SkipLoops,
    # A tenant whose budget a parallel loop can exceed on a small machine: the module and
    # loop 2 at -ThrottleLimit 50 on the same settings, to show who loses users to 429s.
    [int] $ContendedReadBudget = 1500,
    [int] $ContendedUsers = 10000,
    [int] $ContendedLoopSample = 5000,
    [switch] $SkipContended,
    [switch] $SkipMain,
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
$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "pumfa-bench-$PID")

function Invoke-Measured([hashtable] $Arguments) {
    $argumentList = $pwshPrefix + @('-NoProfile', '-NonInteractive', '-File', $measure)
    foreach ($key in $Arguments.Keys) { $argumentList += "-$key"; $argumentList += [string]$Arguments[$key] }
    $output = & $pwsh @argumentList
    if ($LASTEXITCODE -ne 0) { throw "Measure-Run failed: $output" }
    ($output | Select-Object -Last 1) | ConvertFrom-Json
}

function Get-ReadBudget([int] $Users) {
    if ($Users -lt 50) { 3500 } elseif ($Users -le 500) { 5000 } else { 8000 }
}

$rows = [System.Collections.Generic.List[object]]::new()
function Add-Row($Scenario, $Users, $Run, $Stats, $CeilingPerSecond) {
    $rate = $Run.uniqueIds / [math]::Max($Run.seconds, 0.001)
    $missing = $Users - $Run.uniqueIds - $Run.errors
    $row = [pscustomobject][ordered]@{
        Scenario          = $Scenario
        Users             = $Users
        Seconds           = [math]::Round($Run.seconds, 1)
        'Users/s'         = [math]::Round($rate, 1)
        'Of ceiling'      = if ($CeilingPerSecond) { '{0:P0}' -f ($rate / $CeilingPerSecond) } else { 'n/a' }
        '429s'            = $Stats.throttled429
        'Sent in pause'   = $Stats.sentDuringRetryAfter
        Errors            = $Run.errors
        Missing           = $missing
        'First object s'  = if ($Run.PSObject.Properties['firstObjectSeconds'] -and $null -ne $Run.firstObjectSeconds) { [math]::Round($Run.firstObjectSeconds, 2) } else { '' }
        'Peak growth MB'  = if ($Run.PSObject.Properties['peakGrowthMB']) { $Run.peakGrowthMB } else { '' }
    }
    $rows.Add($row)
    $row | Format-List | Out-Host
}

try {
    foreach ($size in $(if ($SkipMain) { @() } else { $Sizes })) {
        $budget = Get-ReadBudget $size
        foreach ($path in 'bulk', 'per-user') {
            $simArgs = @('--throttle', 'auto', '--latency-ms', $LatencyMs, '--jitter-ms', $JitterMs, '--page-ms', $PageMs)
            if ($path -eq 'per-user') { $simArgs += '--no-bulk-state' }
            Write-Host "== $size users, $path path (simulator: $($simArgs -join ' '))" -ForegroundColor Cyan
            $sim = Start-GraphSim -Users $size -Seed 5 -ExtraArguments $simArgs -SimulatorPath $SimulatorPath
            try {
                $token = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
                Reset-SimStats -Sim $sim
                $csv = Join-Path $work "$size-$path.csv"
                $run = Invoke-Measured @{ Kind = 'Module'; GraphUrl = $sim.Url; Token = $token; ModuleManifest = $ModuleManifest; CsvPath = $csv }
                $ceiling = if ($path -eq 'per-user') { $budget / 10 } else { $null }
                Add-Row "Get-PerUserMfaState -All ($path)" $size $run (Get-SimStats -Sim $sim) $ceiling
                Remove-Item $csv

                if ($path -eq 'per-user' -and -not $SkipLoops -and $size -eq ($Sizes | Measure-Object -Maximum).Maximum) {
                    foreach ($loop in @(
                            @{ Name = 'loop 1: sequential Invoke-RestMethod'; Kind = 'Sequential'; Sample = $SequentialSample; Limit = 1 }
                            @{ Name = 'loop 2: ForEach-Object -Parallel -ThrottleLimit 20'; Kind = 'Parallel'; Sample = $Parallel20Sample; Limit = 20 }
                            @{ Name = 'loop 2: ForEach-Object -Parallel -ThrottleLimit 50'; Kind = 'Parallel'; Sample = $Parallel50Sample; Limit = 50 })) {
                        # A fresh budget window for each loop.
                        Start-Sleep -Seconds 11
                        Reset-SimStats -Sim $sim
                        $sample = [math]::Min($loop.Sample, $size)
                        $run = Invoke-Measured @{ Kind = $loop.Kind; GraphUrl = $sim.Url; Token = $token; Sample = $sample; ThrottleLimit = $loop.Limit }
                        Add-Row $loop.Name $sample $run (Get-SimStats -Sim $sim) ($budget / 10)
                    }
                }
            }
            finally { Stop-GraphSim $sim }
        }
    }
    if (-not $SkipContended) {
        $simArgs = @('--throttle', 'auto', '--read-budget', $ContendedReadBudget, '--latency-ms', $LatencyMs, '--jitter-ms', $JitterMs, '--page-ms', $PageMs, '--no-bulk-state')
        Write-Host "== contended: $ContendedUsers users, read budget $ContendedReadBudget units/10 s (simulator: $($simArgs -join ' '))" -ForegroundColor Cyan
        $sim = Start-GraphSim -Users $ContendedUsers -Seed 6 -ExtraArguments $simArgs -SimulatorPath $SimulatorPath
        try {
            $token = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
            $ceiling = $ContendedReadBudget / 10
            Reset-SimStats -Sim $sim
            $csv = Join-Path $work 'contended.csv'
            $run = Invoke-Measured @{ Kind = 'Module'; GraphUrl = $sim.Url; Token = $token; ModuleManifest = $ModuleManifest; CsvPath = $csv }
            Add-Row "Get-PerUserMfaState -All (per-user, budget $ContendedReadBudget)" $ContendedUsers $run (Get-SimStats -Sim $sim) $ceiling
            if (-not $SkipLoops) {
                Start-Sleep -Seconds 11
                Reset-SimStats -Sim $sim
                $run = Invoke-Measured @{ Kind = 'Parallel'; GraphUrl = $sim.Url; Token = $token; Sample = $ContendedLoopSample; ThrottleLimit = 50 }
                Add-Row "loop 2: -ThrottleLimit 50 (budget $ContendedReadBudget)" $ContendedLoopSample $run (Get-SimStats -Sim $sim) $ceiling
            }
        }
        finally { Stop-GraphSim $sim }
    }
}
finally {
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

$settings = "latency $LatencyMs ms ±$JitterMs ms, users page $PageMs ms, Graph's throttling (read budget 8,000 units/10 s over 500 users)"
$table = $rows | Format-Table -AutoSize | Out-String -Width 250
Write-Host "`nSettings: $settings"
Write-Host $table
if ($OutFile) {
    $header = '| ' + (($rows[0].PSObject.Properties.Name) -join ' | ') + ' |'
    $rule = '|' + (($rows[0].PSObject.Properties.Name | ForEach-Object { '---' }) -join '|') + '|'
    $lines = foreach ($row in $rows) { '| ' + (($row.PSObject.Properties.Value | ForEach-Object { "$_" }) -join ' | ') + ' |' }
    @("Settings: $settings", '', $header, $rule) + $lines | Set-Content $OutFile -Encoding utf8
    Write-Host "Table written to $OutFile"
}
