<#
.SYNOPSIS
    Runs the Pester suite against a built module and the Graph simulator. build.ps1 Test starts
    this in a fresh pwsh so the module loads the way it loads for a user.
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    # Both needed by every test file but tests/CodeHealth.Tests.ps1, which reads the sources only
    # (build.ps1 Check runs it before anything is built).
    [string] $ModuleManifest,
    [string] $SimulatorPath,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $Filter = '*'
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -MinimumVersion 5.7 -Force

# The test files read these to find what they test.
if ($ModuleManifest) { $env:PUMFA_TEST_MODULE = (Resolve-Path $ModuleManifest).Path }
if ($SimulatorPath) { $env:PUMFA_TEST_SIMULATOR = (Resolve-Path $SimulatorPath).Path }

# Journals the tests write without -JournalPath go to a temporary folder, never to the real default
# folder of whoever runs the suite; JournalFolder.Tests.ps1 (run last) checks that folder is as it was.
$realJournals = Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'PerUserMfa/journals'
$env:PUMFA_TEST_REAL_JOURNAL_DIR = $realJournals
$env:PUMFA_TEST_REAL_JOURNALS_BEFORE = (@("exists: $(Test-Path -LiteralPath $realJournals)") + @(if (Test-Path -LiteralPath $realJournals) { Get-ChildItem -LiteralPath $realJournals -Force | ForEach-Object Name })) -join "`n"
$env:PERUSERMFA_JOURNAL_DIR = Join-Path ([System.IO.Path]::GetTempPath()) "pumfa-test-journals-$([guid]::NewGuid().ToString('N'))"

$configuration = New-PesterConfiguration
$hygiene = Join-Path $PSScriptRoot 'JournalFolder.Tests.ps1'
$configuration.Run.Path = @(@(Get-ChildItem $PSScriptRoot -Filter "$Filter.Tests.ps1" | ForEach-Object FullName | Where-Object { $_ -ne $hygiene }) + $hygiene)
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Output.StackTraceVerbosity = 'Filtered'
# Tests tagged DotNetCore use APIs or syntax only PowerShell 7 (.NET) has; Windows PowerShell 5.1
# (.NET Framework) leaves them out. tests/CodeHealth.Tests.ps1 fails when a test uses such an
# API without the tag.
if ($PSVersionTable.PSEdition -eq 'Desktop') {
    $configuration.Filter.ExcludeTag = @('DotNetCore')
    Write-Host 'Windows PowerShell: tests tagged DotNetCore (they need .NET Core APIs) are left out.'
}
$result = Invoke-Pester -Configuration $configuration

Remove-Item -LiteralPath $env:PERUSERMFA_JOURNAL_DIR -Recurse -Force -ErrorAction SilentlyContinue

[ordered]@{
    Passed  = $result.PassedCount
    Failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount
} | ConvertTo-Json | Set-Content $ResultFile
Write-Host "pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped"
if ($result.Result -ne 'Passed') { exit 1 }
exit 0
