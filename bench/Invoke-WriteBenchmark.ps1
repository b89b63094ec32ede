<#
.SYNOPSIS
    Write benchmark: Set-PerUserMfaState changing 10,000 users under Graph's write
    budget, against the sequential Invoke-RestMethod -Method Patch loop admins run today, on the
    same simulator settings.

.DESCRIPTION
    Graph allows far fewer writes than reads: 3,000 per 150 s per app per tenant (a steady 20 per
    second). The simulator enforces that budget (--throttle auto, --write-budget). The module
    reads every state first, journals each change before its PATCH, reads the state back, and
    paces PATCHes to the budget; the loop just sends PATCHes one after another.

    Rate is compared with the write ceiling two ways:
      steady     3,000 / 150 s = 20 changes/s
      fastest    the earliest moment the sliding 150 s window lets the last of N writes go out
                 when the budget starts idle: 150 s x floor((N - 1) / 3,000) (for 10,000: 450 s).
                 A fresh window is a legitimate burst, so a finished run can beat the steady rate.
    The loop runs on a sample (it would take too long on 10,000) and is compared by per-user rate.
    The module runs in a fresh pwsh; the simulator is reset (tenant, counters, windows) between runs.

.EXAMPLE
    dotnet pwsh bench/Invoke-WriteBenchmark.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1 -SimulatorPath target/release/graph-sim
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [int] $Users = 10000,
    [int] $LatencyMs = 50,
    [int] $JitterMs = 10,
    [int] $WriteBudget = 3000,
    [int] $SequentialSample = 300,
    [int] $Seed = 61,
    [int] $ThrottleLimit = 0,
    [string] $OutFile
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$SimulatorPath = (Resolve-Path $SimulatorPath).Path
Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "pumfa-write-bench-$PID")
$target = 'enforced'

# ~85% of generated users are not enforced: size the tenant so that $Users of them need the change.
$tenantSize = [int][math]::Ceiling($Users / 0.83) + 200
$simArguments = @('--throttle', 'auto', '--latency-ms', $LatencyMs, '--jitter-ms', $JitterMs, '--write-budget', $WriteBudget)
$sim = Start-GraphSim -Users $tenantSize -Seed $Seed -SimulatorPath $SimulatorPath -ExtraArguments $simArguments
$rows = [System.Collections.Generic.List[object]]::new()
try {
    $token = New-SimToken -Sim $sim -Roles (Get-WriteRoles) -AsPlainText
    $truth = Get-SimUser -Sim $sim
    $ids = @($truth | Where-Object perUserMfaState -NE $target | Select-Object -First $Users | ForEach-Object id)
    if ($ids.Count -lt $Users) { throw "The tenant has only $($ids.Count) users that need the change." }
    $steady = $WriteBudget / 150.0
    Write-Host "Tenant of $tenantSize users; $($ids.Count) to change to $target. Simulator: $($simArguments -join ' ')" -ForegroundColor Cyan

    # --- The loop admins run today, on a sample --------------------------------------------------
    $headers = @{ Authorization = "Bearer $token" }
    $body = @{ perUserMfaState = $target } | ConvertTo-Json -Compress
    $sample = @($ids | Select-Object -First $SequentialSample)
    Reset-SimStats -Sim $sim
    $failed = 0
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    foreach ($id in $sample) {
        try {
            $null = Invoke-RestMethod -Method Patch -Uri "$($sim.Url)/beta/users/$id/authentication/requirements" -Headers $headers -Body $body -ContentType 'application/json'
        }
        catch { $failed++ }
    }
    $clock.Stop()
    $loopStats = Get-SimStats -Sim $sim
    $loopRate = $sample.Count / $clock.Elapsed.TotalSeconds
    $rows.Add([ordered]@{
            Scenario = "loop: sequential Invoke-RestMethod -Method Patch (sample)"; Users = $sample.Count
            Seconds = [math]::Round($clock.Elapsed.TotalSeconds, 1); Rate = [math]::Round($loopRate, 1)
            Steady = "$([math]::Round(100 * $loopRate / $steady)) %"; Fastest = 'n/a'
            Throttled = $loopStats.throttled429; InPause = $loopStats.sentDuringRetryAfter; Errors = $failed
            Journal = 'none'; Checked = 'no'
        })
    Write-Host "Loop: $($sample.Count) PATCHes in $([math]::Round($clock.Elapsed.TotalSeconds, 1)) s" -ForegroundColor Cyan

    # --- The module, in a fresh pwsh, on a reset tenant -------------------------------------------
    Reset-SimTenant -Sim $sim
    $idsFile = Join-Path $work 'ids.txt'
    $ids | Set-Content -LiteralPath $idsFile
    $journal = Join-Path $work "bench-$([guid]::NewGuid().ToString('N').Substring(0, 8)).jsonl"
    $child = Join-Path $work 'module-run.ps1'
    @'
param($Module, $Url, $Token, $IdsFile, $Journal, $ThrottleLimit)
$ErrorActionPreference = 'Stop'
Import-Module $Module
Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $Url
$ids = Get-Content -LiteralPath $IdsFile
$ProgressPreference = 'SilentlyContinue'
$parameters = @{ State = 'Enforced'; Force = $true; PassThru = $true; JournalPath = $Journal; ErrorVariable = '+runErrors'; ErrorAction = 'SilentlyContinue' }
if ([int]$ThrottleLimit -gt 0) { $parameters.ThrottleLimit = [int]$ThrottleLimit }
$runErrors = @()
$clock = [System.Diagnostics.Stopwatch]::StartNew()
$results = $ids | Set-PerUserMfaState @parameters 6>$null
$clock.Stop()
[ordered]@{ seconds = $clock.Elapsed.TotalSeconds; objects = @($results).Count; changed = @($results | Where-Object Changed).Count; errors = $runErrors.Count } | ConvertTo-Json -Compress
'@ | Set-Content -LiteralPath $child
    Write-Host "Module: changing $($ids.Count) users (about $([math]::Round(150 * [math]::Floor(($ids.Count - 1) / ($WriteBudget * 0.95)) / 60, 1)) min at the budget)..." -ForegroundColor Cyan
    $run = Invoke-FreshPowerShell -File $child -Arguments @($ModuleManifest, $sim.Url, $token, $idsFile, $journal, $ThrottleLimit) -TimeoutSeconds 3600
    if ($run.ExitCode -ne 0) { throw "The module run failed: $($run.Errors)" }
    $result = $run.Output[-1] | ConvertFrom-Json
    $stats = Get-SimStats -Sim $sim
    $after = @{}
    $simUsers = Get-SimUser -Sim $sim   # one array object: enumerate it from the variable ($Users is the size parameter)
    foreach ($user in $simUsers) { $after[$user.id] = $user }
    $wrong = @($ids | Where-Object { $after[$_].perUserMfaState -ne $target -or $after[$_].patchCount -ne 1 }).Count

    # The apply phase from the journal: its header (written once the plan is confirmed) to the last outcome.
    $lines = Get-Content -LiteralPath $journal
    $created = [DateTimeOffset]::Parse(($lines[0] | ConvertFrom-Json -AsHashtable).created)
    $lastTime = [DateTimeOffset]::Parse(([regex]::Match($lines[-1], '"time":"([^"]+)"')).Groups[1].Value)
    $applySeconds = ($lastTime - $created).TotalSeconds
    $outcomes = @($lines | Where-Object { $_ -like '{"type":"outcome"*' }).Count

    $fastest = 150 * [math]::Floor(($ids.Count - 1) / $WriteBudget)
    foreach ($phase in @(
            @{ Name = 'Set-PerUserMfaState -Force: read, journal, PATCH, read back'; Seconds = $result.seconds },
            @{ Name = '  of which the apply phase (journal header to last outcome)'; Seconds = $applySeconds })) {
        $rate = $ids.Count / $phase.Seconds
        $rows.Add([ordered]@{
                Scenario = $phase.Name; Users = $ids.Count; Seconds = [math]::Round($phase.Seconds, 1); Rate = [math]::Round($rate, 1)
                Steady = "$([math]::Round(100 * $rate / $steady)) %"
                Fastest = if ($fastest -gt 0) { "$([math]::Round(100 * $fastest / $phase.Seconds)) %" } else { 'n/a' }
                Throttled = $stats.throttled429; InPause = $stats.sentDuringRetryAfter; Errors = $result.errors
                Journal = "$outcomes outcomes"; Checked = if ($wrong -eq 0) { 'all enforced, 1 PATCH each' } else { "$wrong wrong" }
            })
    }

    $table = @(
        '| Scenario | Users | Seconds | Changes/s | Of steady ceiling (' + [math]::Round($steady, 1) + '/s) | Of fastest possible | 429s | Sent in pause | Errors | Journal | Ground truth |'
        '|---|---|---|---|---|---|---|---|---|---|---|'
        foreach ($row in $rows) {
            "| $($row.Scenario) | $($row.Users) | $($row.Seconds) | $($row.Rate) | $($row.Steady) | $($row.Fastest) | $($row.Throttled) | $($row.InPause) | $($row.Errors) | $($row.Journal) | $($row.Checked) |"
        }
    ) -join "`n"
    $moduleRate = $ids.Count / $result.seconds
    $summary = @(
        ''
        "Fastest possible for $($ids.Count) writes from an idle budget: $fastest s ($([math]::Round($ids.Count / [math]::Max($fastest, 1), 1))/s)."
        "Module vs the loop by per-user rate: $([math]::Round($moduleRate / $loopRate, 1))x; the loop at its rate would take $([math]::Round($ids.Count / $loopRate / 60, 1)) min for $($ids.Count) users if it were never throttled (it does no read, no journal and no read-back)."
        "Simulator: --users $tenantSize --seed $Seed $($simArguments -join ' ')"
    ) -join "`n"
    $text = $table + "`n" + $summary
    Write-Host ''
    Write-Host $text
    if ($OutFile) { $text | Set-Content -LiteralPath $OutFile -Encoding utf8 }
}
finally {
    Stop-GraphSim $sim
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
