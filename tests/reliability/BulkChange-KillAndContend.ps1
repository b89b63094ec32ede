<#
.SYNOPSIS
    Reliability run for bulk changes: a run killed with SIGKILL again and again, then undone; two
    resumes started together; an undo started while the run goes on. Prints the figures and exits 1
    unless every check holds. Figures: RELIABILITY.md.

.DESCRIPTION
    Part 1 (kills). -Users accounts are set to -State in one Set-PerUserMfaState run in a child
    pwsh. The child is killed (Process.Kill: SIGKILL on Linux and macOS) at -Kills random moments,
    each chosen as a random number of PATCHes the simulator has counted so far (plus a random
    0-250 ms), and resumed with Set-PerUserMfaState -ResumeJournal after each kill; the last resume
    runs to the end. Then Undo-PerUserMfaChange runs, killed -UndoKills times and resumed the same
    way (an undo journal is resumed like any other). Checks: every account ends in its original
    state (or Enforced for Enabled, which Graph stores for a user with MFA methods); the simulator's
    per-account PATCH counter shows at most one PATCH per account in the set phase and one in the
    undo phase; the journals stay readable (Undo-PerUserMfaChange -WhatIf reads them).

    Part 2 (contention). A run is killed; two resumes of its journal start together: one runs, the
    other is refused ("in use by process N") or, if it starts after the first ended, finds nothing
    to send. Then a new run starts and, while it goes on, an undo of its journal: refused. Checks: no
    account PATCHed twice.

.EXAMPLE
    dotnet pwsh -NoProfile -File tests/reliability/BulkChange-KillAndContend.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1 -SimulatorPath target/debug/graph-sim
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [int] $Users = 5000,
    [int] $Kills = 20,
    [int] $UndoKills = 5,
    [int] $Seed = 21,
    [int] $LatencyMs = 20,
    [ValidateSet('Disabled', 'Enabled', 'Enforced')] [string] $State = 'Enforced',
    [int] $RandomSeed = 12345,
    # Kills: part 1 only; Contention: part 2 only.
    [ValidateSet('All', 'Kills', 'Contention')] [string] $Part = 'All',
    # Keeps the journals and the children's scripts (the folder is printed) to trace a failed check.
    [switch] $KeepWork
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
$random = [System.Random]::new($RandomSeed)
$work = Join-Path ([System.IO.Path]::GetTempPath()) "pumfa-reliability-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
$null = New-Item -ItemType Directory -Path $work
# The children's default journal folder too: nothing lands in the real one.
$env:PERUSERMFA_JOURNAL_DIR = $work

$sim = Start-GraphSim -Users $Users -Seed $Seed -SimulatorPath (Resolve-Path $SimulatorPath).Path
$null = Set-SimConfig -Sim $sim -Settings @{ latencyMs = $LatencyMs; jitterMs = 0; fault503 = 0; dropRate = 0 }
# The methods read settles a resumed PATCH to Enabled that Graph shows Enforced as before (see bulk::landing_unknown).
$token = New-SimToken -Sim $sim -Roles (@(Get-WriteRoles) + "UserAuthenticationMethod.Read.All") -AsPlainText
$powershell = Get-PowerShellCommand
$failures = [System.Collections.Generic.List[string]]::new()
function Assert-That([bool] $Condition, [string] $What) { if (-not $Condition) { $failures.Add($What); Write-Host "FAILED: $What" } }

function Get-Truth { $map = @{}; foreach ($u in (Get-SimUser -Sim $sim)) { $map[$u.id] = $u }; $map }

function Start-Child([string] $Command) {
    <# A child pwsh connected to the simulator that runs $Command; its output goes to files. #>
    $script = Join-Path $work "child-$([guid]::NewGuid().ToString('N').Substring(0, 8)).ps1"
    @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModuleManifest'
Connect-PerUserMfa -AccessToken (ConvertTo-SecureString '$token' -AsPlainText -Force) -GraphEndpoint '$($sim.Url)'
$Command
"@ | Set-Content -LiteralPath $script
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($powershell.FilePath)
    Add-ProcessArgument $startInfo (@($powershell.Arguments) + @('-NoProfile', '-NonInteractive', '-File', $script))
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($startInfo)
    [pscustomobject]@{ Process = $process; Out = $process.StandardOutput.ReadToEndAsync(); Err = $process.StandardError.ReadToEndAsync() }
}

function Wait-Child($Child) {
    $Child.Process.WaitForExit()
    [pscustomobject]@{ ExitCode = $Child.Process.ExitCode; Out = (ConvertTo-PlainText $Child.Out.Result); Err = (ConvertTo-PlainText $Child.Err.Result) }
}

function ConvertTo-PlainText([string] $Text) {
    <# pwsh's error view colours and wraps a message at the console width, behind a '|' gutter: one
       line of plain text, so a message split over lines still matches. #>
    $plain = $Text -replace "\x1b\[[0-9;]*[A-Za-z]", ''
    ($plain -replace '\s*\r?\n\s*\|?\s*', ' ').Trim()
}

function Stop-ChildAt($Child, [int] $Patches) {
    <# Kills the child (SIGKILL) once the simulator counted $Patches PATCHes, after a random pause;
       returns false when the child ended first. #>
    while ((Get-SimStats -Sim $sim).patches -lt $Patches) {
        if ($Child.Process.HasExited) { return $false }
        Start-Sleep -Milliseconds 10
    }
    Start-Sleep -Milliseconds ($random.Next(0, 250))
    if ($Child.Process.HasExited) { return $false }
    $Child.Process.Kill()
    $Child.Process.WaitForExit()
    return $true
}

function Invoke-KilledPhase([string] $Name, [string] $FirstCommand, [string] $Journal, [int] $KillCount, [int] $Expected) {
    <# Runs $FirstCommand, kills it $KillCount times at random PATCH counts below $Expected,
       resuming after each kill, then lets the last resume finish. Returns the figures. #>
    Reset-SimStats -Sim $sim
    $points = @(1..$KillCount | ForEach-Object { $random.Next(0, [Math]::Max(1, $Expected)) } | Sort-Object)
    $killed = 0
    $torn = 0
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $child = Start-Child $FirstCommand
    foreach ($point in $points) {
        if (-not (Stop-ChildAt $child $point)) { break }
        $killed++
        if ((Test-Path -LiteralPath $Journal) -and (Get-Item -LiteralPath $Journal).Length -eq 0) {
            # Killed between creating the file and writing its header: it records nothing.
            Remove-Item -LiteralPath $Journal
        }
        if (Test-Path -LiteralPath $Journal) {
            $bytes = [System.IO.File]::ReadAllBytes($Journal)
            if ($bytes.Length -gt 0 -and $bytes[-1] -ne 10) { $torn++ }
            $child = Start-Child "Set-PerUserMfaState -ResumeJournal '$Journal' -Force"
        }
        else {
            # Killed before the journal existed: nothing was changed; start the run again.
            $child = Start-Child $FirstCommand
        }
    }
    $result = Wait-Child $child
    Assert-That ($result.ExitCode -eq 0) "$Name : the last run failed: $($result.Err)"
    [pscustomobject]@{
        Phase          = $Name
        Kills          = $killed
        TornLastLines  = $torn
        PatchesSent    = (Get-SimStats -Sim $sim).patches
        ChangesNeeded  = $Expected
        Seconds        = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
    }
}

try {
    $original = Get-Truth
    $wire = $State.ToLowerInvariant()
    $needing = @($original.Values | Where-Object perUserMfaState -NE $wire).Count
    $usersFile = Join-Path $work 'users.txt'
    $original.Keys | Set-Content -LiteralPath $usersFile
    if ($Part -ne 'Contention') {
    # ---- Part 1: kills -------------------------------------------------------------------------
    $setJournal = Join-Path $work 'set.jsonl'
    $set = Invoke-KilledPhase 'set' "Get-Content -LiteralPath '$usersFile' | Set-PerUserMfaState -State $State -Force -JournalPath '$setJournal'" $setJournal $Kills $needing
    $afterSet = Get-Truth
    $setMax = ($afterSet.Values | Measure-Object patchCount -Maximum).Maximum
    $setWrong = @($afterSet.Values | Where-Object { $_.perUserMfaState -ne $wire -and -not ($wire -eq 'enabled' -and $_.perUserMfaState -eq 'enforced') }).Count
    Assert-That ($setMax -le 1) "set: an account was PATCHed $setMax times"
    Assert-That ($setWrong -eq 0) "set: $setWrong accounts did not reach $State"

    Import-Module $ModuleManifest -Force
    Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $token -AsPlainText -Force) -GraphEndpoint $sim.Url
    $readable = $true
    try { Undo-PerUserMfaChange -JournalPath $setJournal -WhatIf -InformationAction SilentlyContinue -WarningAction SilentlyContinue } catch { $readable = $false; Write-Host $_ }
    Assert-That $readable 'set: the journal could not be read after the kills'

    $undoJournal = Join-Path $work 'undo.jsonl'
    $before = @{}; foreach ($u in $afterSet.Values) { $before[$u.id] = $u.patchCount }
    $undo = Invoke-KilledPhase 'undo' "Undo-PerUserMfaChange -JournalPath '$setJournal' -UndoJournalPath '$undoJournal' -Force" $undoJournal $UndoKills $needing
    $final = Get-Truth
    $undoMax = ($final.Values | ForEach-Object { $_.patchCount - $before[$_.id] } | Measure-Object -Maximum).Maximum
    $notRestoredAccounts = @($final.Values | Where-Object {
            $was = $original[$_.id].perUserMfaState
            $_.perUserMfaState -ne $was -and -not ($was -eq 'enabled' -and $_.perUserMfaState -eq 'enforced' -and $_.hasMfaMethods)
        })
    $notRestored = $notRestoredAccounts.Count
    foreach ($account in $notRestoredAccounts | Select-Object -First 10) {
        Write-Host ("  not restored: {0} {1}: was {2}, is {3}, MFA methods {4}, PATCHes set phase {5}, undo phase {6}" -f $account.id,
            $account.userPrincipalName, $original[$account.id].perUserMfaState, $account.perUserMfaState, $account.hasMfaMethods,
            $before[$account.id], ($account.patchCount - $before[$account.id]))
    }
    $enforcedByGraph = @($final.Values | Where-Object { $original[$_.id].perUserMfaState -eq 'enabled' -and $_.perUserMfaState -eq 'enforced' }).Count
    Assert-That ($undoMax -le 1) "undo: an account was PATCHed $undoMax times"
    Assert-That ($notRestored -eq 0) "undo: $notRestored accounts are not back in their original state"
    $readable = $true
    try { Undo-PerUserMfaChange -JournalPath $undoJournal -WhatIf -InformationAction SilentlyContinue -WarningAction SilentlyContinue } catch { $readable = $false; Write-Host $_ }
    Assert-That $readable 'undo: its journal could not be read after the kills'

    Write-Host ''
    Write-Host "Part 1: $Users accounts set to $State ($needing needed a change), killed with SIGKILL and resumed, then undone"
    @($set, $undo) | Format-Table -AutoSize | Out-String | Write-Host
    Write-Host "  most PATCHes to one account: set phase $setMax, undo phase $undoMax"
    Write-Host "  accounts not back in their original state: $notRestored (Enabled accounts Graph keeps Enforced because they registered MFA methods: $enforcedByGraph)"

    }
    if ($Part -ne 'Kills') {
    # ---- Part 2: contention --------------------------------------------------------------------
    $null = Invoke-RestMethod -Method Post -Uri "$($sim.Url)/_sim/reset"
    Reset-SimStats -Sim $sim
    $start = Get-Truth
    $contended = Join-Path $work 'contended.jsonl'
    $child = Start-Child "Get-Content -LiteralPath '$usersFile' | Set-PerUserMfaState -State $State -Force -JournalPath '$contended' -ThrottleLimit 8"
    $null = Stop-ChildAt $child ([int]($needing / 5))
    $first = Start-Child "Set-PerUserMfaState -ResumeJournal '$contended' -Force"
    $second = Start-Child "Set-PerUserMfaState -ResumeJournal '$contended' -Force"
    $results = @((Wait-Child $first), (Wait-Child $second))
    $refused = @($results | Where-Object { $_.Err -match 'in use by process \d+' }).Count
    $nothingLeft = @($results | Where-Object { $_.ExitCode -eq 0 -and $_.Out -match 'finished by another run|Nothing to resume' }).Count
    $afterResumes = Get-Truth
    $resumeMax = ($afterResumes.Values | Measure-Object patchCount -Maximum).Maximum
    $resumeWrong = @($afterResumes.Values | Where-Object { $_.perUserMfaState -ne $wire -and -not ($wire -eq 'enabled' -and $_.perUserMfaState -eq 'enforced') }).Count
    Assert-That (($refused + $nothingLeft) -eq 1) "two resumes: expected one to win and the other to be refused or find nothing left (refused $refused, nothing left $nothingLeft)"
    Assert-That ($resumeMax -le 1) "two resumes: an account was PATCHed $resumeMax times"
    Assert-That ($resumeWrong -eq 0) "two resumes: $resumeWrong accounts did not reach $State"

    $null = Invoke-RestMethod -Method Post -Uri "$($sim.Url)/_sim/reset"
    Reset-SimStats -Sim $sim
    $during = Join-Path $work 'during.jsonl'
    $run = Start-Child "Get-Content -LiteralPath '$usersFile' | Set-PerUserMfaState -State $State -Force -JournalPath '$during' -ThrottleLimit 8"
    while ((Get-SimStats -Sim $sim).patches -lt 10 -and -not $run.Process.HasExited) { Start-Sleep -Milliseconds 20 }
    $undoDuring = Wait-Child (Start-Child "Undo-PerUserMfaChange -JournalPath '$during' -Force")
    $runResult = Wait-Child $run
    $afterDuring = Get-Truth
    $duringMax = ($afterDuring.Values | Measure-Object patchCount -Maximum).Maximum
    Assert-That ($undoDuring.Err -match "in use by process $($run.Process.Id)") "undo during a run: not refused: $($undoDuring.Err)"
    Assert-That ($runResult.ExitCode -eq 0) "undo during a run: the run itself failed: $($runResult.Err)"
    Assert-That ($duringMax -le 1) "undo during a run: an account was PATCHed $duringMax times"

    Write-Host "Part 2: contention on one journal"
    Write-Host "  two resumes started together: refused $refused, found nothing left $nothingLeft, most PATCHes to one account $resumeMax, accounts not at $State $resumeWrong"
    Write-Host "  undo started during a run: refused $([int]($undoDuring.Err -match 'in use by process')), run exit code $($runResult.ExitCode), most PATCHes to one account $duringMax"
    }
}
finally {
    Stop-GraphSim $sim
    if ($KeepWork) { Write-Host "Journals kept in $work" }
    else { Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue }
}

if ($failures.Count -gt 0) {
    Write-Host "$($failures.Count) check(s) failed."
    exit 1
}
Write-Host 'All checks held.'
exit 0
