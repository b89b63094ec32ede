<#
.SYNOPSIS
    Migration-readiness benchmark: Test-PerUserMfaMigration on a large tenant against reading the
    states of the same tenant, with the analysis time and the membership requests it cost.

.DESCRIPTION
    Starts the simulator with -Users accounts (Graph's budgets, 50 ms round trips), generates a
    Conditional Access set-up for that tenant and loads it (--scenario):
      - -Groups groups, nested: a quarter of them are parent groups, each holding three child groups
        (and a few accounts of its own); every account is a direct member of one child group;
      - -Policies policies, each referencing groups (include and exclude, directly and through their
        parents), with a mix of full and partial set-ups (all apps or Office 365 only, all clients or
        browser only, a trusted-location exclusion, report-only) and one directory role;
    then measures, in this order:
      1. Get-PerUserMfaState -All (reading every account's state);
      2. Test-PerUserMfaMigration -All (every account judged);
      3. Test-PerUserMfaMigration (default scope: accounts Enabled or Enforced).
    Each Test run prints its whole wall time, the analysis time the engine reports on -Verbose
    (the verdicts of every account, summed over workers: wall time inside synchronous code, so an
    upper bound of its CPU time), the process CPU time of this PowerShell during the run, and the
    simulator's count of membership requests (a group, its transitive members, role assignments).
    Use a release build (./build.ps1 Build).

.EXAMPLE
    dotnet pwsh -NoProfile -File bench/Invoke-MigrationBenchmark.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1 -SimulatorPath target/release/graph-sim
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [ValidateRange(100, 1000000)] [int] $Users = 100000,
    [ValidateRange(8, 10000)] [int] $Groups = 200,
    [ValidateRange(2, 1000)] [int] $Policies = 50,
    [int] $LatencyMs = 50,
    [int] $Seed = 7
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$SimulatorPath = (Resolve-Path $SimulatorPath).Path
Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
Import-Module $ModuleManifest -Force

# The scenario: parents (a quarter of the groups) hold three children each; children hold the accounts.
function New-Scenario([object[]] $Ids) {
    $parentCount = [math]::Max(1, [int][math]::Floor($Groups / 4))
    $childCount = $Groups - $parentCount
    $children = for ($c = 0; $c -lt $childCount; $c++) {
        [ordered]@{ id = "grp-child-$c"; displayName = "Team $c"; members = [System.Collections.Generic.List[string]]::new() }
    }
    for ($i = 0; $i -lt $Ids.Count; $i++) { $children[$i % $childCount].members.Add($Ids[$i]) }
    $parents = for ($p = 0; $p -lt $parentCount; $p++) {
        $members = [System.Collections.Generic.List[string]]::new()
        for ($k = 0; $k -lt 3; $k++) { $members.Add("grp-child-$((3 * $p + $k) % $childCount)") }
        # A few accounts directly in the parent too.
        for ($k = 0; $k -lt 5; $k++) { $members.Add($Ids[(7919 * ($p * 5 + $k)) % $Ids.Count]) }
        [ordered]@{ id = "grp-parent-$p"; displayName = "Division $p"; members = $members }
    }
    $policyList = for ($n = 0; $n -lt $Policies; $n++) {
        $include = @("grp-parent-$($n % $parentCount)", "grp-child-$((5 * $n + 1) % $childCount)", "grp-child-$((5 * $n + 2) % $childCount)")
        $exclude = @("grp-child-$((5 * $n + 3) % $childCount)")
        $users = [ordered]@{ includeGroups = $include; excludeGroups = $exclude }
        if ($n -eq 0) { $users = [ordered]@{ includeUsers = @('All'); excludeGroups = @('grp-child-0') } }
        if ($n -eq 1) { $users.includeRoles = @('62e90394-69f5-4237-9190-012177145e10') }
        $applications = [ordered]@{ includeApplications = @(if ($n % 5 -eq 2) { 'Office365' } else { 'All' }) }
        $conditions = [ordered]@{ users = $users; applications = $applications; clientAppTypes = @(if ($n % 7 -eq 3) { 'browser' } else { 'all' }) }
        if ($n % 6 -eq 4) { $conditions.locations = [ordered]@{ includeLocations = @('All'); excludeLocations = @('AllTrusted') } }
        [ordered]@{
            displayName   = "Policy $n"
            state         = if ($n % 10 -eq 9) { 'enabledForReportingButNotEnforced' } else { 'enabled' }
            conditions    = $conditions
            grantControls = [ordered]@{ operator = 'OR'; builtInControls = @('mfa') }
        }
    }
    [ordered]@{
        name            = "benchmark: $($Ids.Count) users, $Policies policies, $Groups groups"
        groups          = @($children) + @($parents)
        policies        = @($policyList)
        roleAssignments = @([ordered]@{ roleDefinitionId = '62e90394-69f5-4237-9190-012177145e10'; principal = $Ids[1] })
    } | ConvertTo-Json -Depth 12 -Compress
}

function Measure-Step([scriptblock] $Run) {
    $process = Get-Process -Id $PID
    $cpuBefore = $process.TotalProcessorTime
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $result = & $Run
    $watch.Stop()
    $process.Refresh()
    [pscustomobject]@{ Result = $result; Seconds = $watch.Elapsed.TotalSeconds; CpuSeconds = ($process.TotalProcessorTime - $cpuBefore).TotalSeconds }
}

$simArguments = @('--throttle', 'auto', '--latency-ms', $LatencyMs, '--jitter-ms', [int]($LatencyMs / 5))
Write-Host "Starting the simulator: $Users users, $($simArguments -join ' ')" -ForegroundColor Cyan
# The scenario names the generated tenant's object ids, so the tenant (the same for the same seed) is
# generated once to read them; the scenario is too large for POST /_sim/scenario, so the simulator
# that is measured loads it from a file (--scenario).
$probe = Start-GraphSim -Users $Users -Seed $Seed -SimulatorPath $SimulatorPath
try { $ids = @((Get-SimUser -Sim $probe) | ForEach-Object id) } finally { Stop-GraphSim $probe }
$scenario = New-Scenario $ids
$scenarioPath = Join-Path ([IO.Path]::GetTempPath()) "pumfa-migration-benchmark-$PID.json"
[System.IO.File]::WriteAllText($scenarioPath, $scenario)
$sim = Start-GraphSim -Users $Users -Seed $Seed -ExtraArguments ($simArguments + @('--scenario', $scenarioPath)) -SimulatorPath $SimulatorPath
try {
    Write-Host ("Scenario loaded: {0:N0} users, {1} groups (nested), {2} policies, {3:N1} MB of JSON" -f $ids.Count, $Groups, $Policies, ($scenario.Length / 1MB))
    $roles = @('User.Read.All', 'Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All')
    Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url

    $read = Measure-Step { @(Get-PerUserMfaState -All 6>$null).Count }
    Write-Host ("Get-PerUserMfaState -All: {0:N0} users in {1:N1} s" -f $read.Result, $read.Seconds)

    $rows = foreach ($scope in 'All', 'PerUserMfa') {
        Reset-SimStats -Sim $sim
        $parameters = @{ Verbose = $true }
        if ($scope -eq 'All') { $parameters.All = $true }
        $run = Measure-Step { @(Test-PerUserMfaMigration @parameters 4>&1 6>$null) }
        $stats = Get-SimStats -Sim $sim
        $checks = @($run.Result | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $analysis = @($run.Result | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Analysis:*' } | ForEach-Object Message)
        $analysisSeconds = if ($analysis -and $analysis[-1] -match 'judged in ([0-9.]+) s') { [double]$Matches[1] } else { $null }
        $verdicts = $checks | Group-Object Verdict | ForEach-Object { "$($_.Name) $($_.Count)" }
        [pscustomobject][ordered]@{
            Command                 = if ($scope -eq 'All') { 'Test-PerUserMfaMigration -All' } else { 'Test-PerUserMfaMigration' }
            Accounts                = $checks.Count
            'Seconds'               = [math]::Round($run.Seconds, 1)
            'Of Get -All'           = '{0:P0}' -f ($run.Seconds / $read.Seconds)
            'Analysis s'            = $analysisSeconds
            'PowerShell CPU s'      = [math]::Round($run.CpuSeconds, 1)
            'Membership requests'   = $stats.membershipRequests
            'Requests'              = $stats.requests
            '429s'                  = $stats.throttled429
            Verdicts                = $verdicts -join ', '
        }
    }
}
finally {
    Disconnect-PerUserMfa -ErrorAction SilentlyContinue
    Stop-GraphSim $sim
    Remove-Item -LiteralPath $scenarioPath -ErrorAction SilentlyContinue
}

Write-Host ("`nSettings: {0:N0} users, {1} groups (nested), {2} policies, Graph's budgets (--throttle auto), {3} ms round trips" -f $Users, $Groups, $Policies, $LatencyMs)
Write-Host ("Get-PerUserMfaState -All: {0:N1} s ({1:N1} s of PowerShell CPU)" -f $read.Seconds, $read.CpuSeconds)
$rows | Format-List | Out-Host
