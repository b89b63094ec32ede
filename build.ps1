#Requires -Version 7.2
<#
.SYNOPSIS
    Builds, tests, demonstrates, benchmarks and packages the PerUserMfa module.

.DESCRIPTION
    Named tasks, run in the order given (each pulls in what it needs):

      Bootstrap  restore the local dotnet tools (pwsh) and the PowerShell modules the tests use (Pester)
      Build      the Rust engine and Graph simulator (cargo), the module assembly (dotnet), and the
                 module folder out/PerUserMfa/<version>/ laid out exactly as it ships
      Test       cargo test, dotnet test (xunit), and the Pester suite in a fresh pwsh against graph-sim
      Demo       start graph-sim with a sample tenant, run the cmdlets, export and show a CSV
      Benchmark  the throughput benchmark (see BENCHMARKS.md)
      Package    the .nupkg, published with Publish-PSResource to a local file repository (out/repo)

    The version comes from one place, [workspace.package] in Cargo.toml, and is stamped into the
    manifest and the assembly at build time.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Demo

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Bootstrap', 'Build', 'Test', 'Demo', 'Benchmark', 'Package', 'Clean')]
    [string[]] $Task = @('Build'),

    # Cargo profile for the engine and the simulator.
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Pester: run only test files whose name matches.
    [string] $TestFilter = '*',

    # Extra arguments for the Benchmark task (see tests/benchmark/Invoke-Benchmark.ps1).
    [hashtable] $BenchmarkParameters = @{}
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$OutRoot = Join-Path $Root 'out'

function Invoke-Native {
    # Runs a native command and fails the build when it fails.
    param([string] $Command, [string[]] $Arguments)
    Write-Host "> $Command $($Arguments -join ' ')" -ForegroundColor DarkGray
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command exited with code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    $cargo = Get-Content (Join-Path $Root 'Cargo.toml') -Raw
    if ($cargo -notmatch '(?ms)^\[workspace\.package\].*?^version\s*=\s*"([^"]+)"') {
        throw 'Cargo.toml has no [workspace.package] version.'
    }
    $Matches[1]
}

function Get-HostRid {
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
    $arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()
    "$os-$arch"
}

function Get-NativeFileName {
    if ($IsWindows) { 'perusermfa_engine.dll' } elseif ($IsMacOS) { 'libperusermfa_engine.dylib' } else { 'libperusermfa_engine.so' }
}

$Version = Get-ModuleVersion
$ModuleDir = Join-Path $OutRoot "PerUserMfa/$Version"
$CargoDir = Join-Path $Root "target/$($Configuration.ToLowerInvariant())"
$SimExe = Join-Path $CargoDir ($IsWindows ? 'graph-sim.exe' : 'graph-sim')

function Invoke-Bootstrap {
    Invoke-Native dotnet @('tool', 'restore')
    Invoke-Native dotnet @('restore', (Join-Path $Root 'build/BuildTools.csproj'), '--verbosity', 'quiet')
    if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) {
        throw 'cargo is not on PATH. Install Rust (https://rustup.rs) and run the build again.'
    }
}

function Get-PesterManifest {
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $manifest = Join-Path $nugetRoot 'pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path $manifest)) { throw "Pester 5.7.1 not found at $manifest; run the Bootstrap task." }
    $manifest
}

$script:Built = $false

function Invoke-Build {
    if ($script:Built) { return }
    Invoke-Bootstrap
    $cargoArgs = @('build', '-p', 'perusermfa-engine', '-p', 'graph-sim')
    if ($Configuration -eq 'Release') { $cargoArgs += '--release' }
    Invoke-Native cargo $cargoArgs

    $dotnetOut = Join-Path $OutRoot 'dotnet'
    Invoke-Native dotnet @('build', (Join-Path $Root 'dotnet/PerUserMfa/PerUserMfa.csproj'), '-c', 'Release',
        "-p:Version=$Version", '-o', $dotnetOut, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')

    # Lay the module out exactly as it ships.
    if (Test-Path $ModuleDir) { Remove-Item $ModuleDir -Recurse -Force }
    $rid = Get-HostRid
    $nativeDir = New-Item -ItemType Directory -Force (Join-Path $ModuleDir "runtimes/$rid/native")
    Copy-Item (Join-Path $dotnetOut 'PerUserMfa.dll') $ModuleDir
    Copy-Item (Join-Path $CargoDir (Get-NativeFileName)) $nativeDir
    Copy-Item (Join-Path $Root 'module/*') $ModuleDir -Recurse
    $manifest = Join-Path $ModuleDir 'PerUserMfa.psd1'
    (Get-Content $manifest -Raw) -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion = '$Version'" |
        Set-Content $manifest -NoNewline -Encoding utf8
    Write-Host "Module laid out at $ModuleDir" -ForegroundColor Green
    $script:Built = $true
}

# Counts collected from every runner for the closing summary line.
$script:Totals = @{ Passed = 0; Failed = 0; Skipped = 0 }

function Add-Counts([int] $Passed, [int] $Failed, [int] $Skipped) {
    $script:Totals.Passed += $Passed; $script:Totals.Failed += $Failed; $script:Totals.Skipped += $Skipped
}

function Invoke-CapturedNative {
    # Runs a native test runner, streams its output, and returns the lines for counting.
    param([string] $Command, [string[]] $Arguments)
    Write-Host "> $Command $($Arguments -join ' ')" -ForegroundColor DarkGray
    $lines = [System.Collections.Generic.List[string]]::new()
    & $Command @Arguments 2>&1 | ForEach-Object { $line = "$_"; $lines.Add($line); Write-Host $line }
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Lines = $lines }
}

function Invoke-FreshPwsh {
    # Runs a script in a new pwsh process: the module's DLL never loads into the build's own
    # process (it would stay locked), and each run starts from a clean session.
    param([string] $Script, [string[]] $Arguments = @())
    $pwsh = (Get-Process -Id $PID).Path
    $pwshArgs = @('-NoProfile', '-NonInteractive', '-File', $Script) + $Arguments
    if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -ne 'pwsh') { $pwshArgs = @('pwsh') + $pwshArgs; $pwsh = 'dotnet' }
    Write-Host "> pwsh $($pwshArgs -join ' ')" -ForegroundColor DarkGray
    & $pwsh @pwshArgs
}

function Invoke-Test {
    Invoke-Build
    $failures = @()

    $cargoArgs = @('test', '--workspace')
    if ($Configuration -eq 'Release') { $cargoArgs += '--release' }
    $cargo = Invoke-CapturedNative cargo $cargoArgs
    foreach ($line in $cargo.Lines) {
        if ($line -match 'test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored') {
            Add-Counts $Matches[1] $Matches[2] $Matches[3]
        }
    }
    if ($cargo.ExitCode -ne 0) { $failures += 'cargo test' }

    $dotnet = Invoke-CapturedNative dotnet @('test', (Join-Path $Root 'dotnet/PerUserMfa.Tests/PerUserMfa.Tests.csproj'), '--nologo', '-v', 'quiet')
    foreach ($line in $dotnet.Lines) {
        if ($line -match 'Failed:\s*(\d+),\s*Passed:\s*(\d+),\s*Skipped:\s*(\d+)') {
            Add-Counts $Matches[2] $Matches[1] $Matches[3]
        }
    }
    if ($dotnet.ExitCode -ne 0) { $failures += 'dotnet test' }

    # Pester in a fresh pwsh, so the module loads as a user's session loads it.
    $resultFile = Join-Path $OutRoot 'pester-result.json'
    Remove-Item $resultFile -ErrorAction SilentlyContinue
    Invoke-FreshPwsh (Join-Path $Root 'tests/Invoke-PesterSuite.ps1') @('-PesterManifest', (Get-PesterManifest),
        '-ModuleManifest', (Join-Path $ModuleDir 'PerUserMfa.psd1'), '-SimulatorPath', $SimExe,
        '-ResultFile', $resultFile, '-Filter', $TestFilter)
    $pesterExit = $LASTEXITCODE
    if (Test-Path $resultFile) {
        $pester = Get-Content $resultFile -Raw | ConvertFrom-Json
        Add-Counts $pester.Passed $pester.Failed $pester.Skipped
    }
    if ($pesterExit -ne 0) { $failures += 'Pester' }

    Write-Host ''
    Write-Host "total: $($Totals.Passed) passed, $($Totals.Failed) failed, $($Totals.Skipped) skipped"
    if ($failures) { throw "Failed: $($failures -join ', ')" }
}

function Invoke-Demo {
    Invoke-Build
    Invoke-FreshPwsh (Join-Path $Root 'tests/demo/Invoke-Demo.ps1') @('-ModuleManifest', (Join-Path $ModuleDir 'PerUserMfa.psd1'),
        '-SimulatorPath', $SimExe, '-OutputDirectory', (Join-Path $OutRoot 'demo'))
    if ($LASTEXITCODE -ne 0) { throw 'The demo failed.' }
}

function Invoke-Benchmark {
    $script:Configuration = 'Release'
    Invoke-Build
    $extra = foreach ($key in $BenchmarkParameters.Keys) { "-$key"; "$($BenchmarkParameters[$key])" }
    Invoke-FreshPwsh (Join-Path $Root 'tests/benchmark/Invoke-Benchmark.ps1') (@('-ModuleManifest', (Join-Path $ModuleDir 'PerUserMfa.psd1'),
        '-SimulatorPath', $SimExe) + @($extra))
    if ($LASTEXITCODE -ne 0) { throw 'The benchmark failed.' }
}

function Invoke-Package {
    Invoke-Build
    $repo = New-Item -ItemType Directory -Force (Join-Path $OutRoot 'repo')
    Get-ChildItem $repo -Filter 'PerUserMfa.*.nupkg' | Remove-Item
    $name = 'PerUserMfaLocalBuild'
    if (Get-PSResourceRepository -Name $name -ErrorAction SilentlyContinue) { Unregister-PSResourceRepository -Name $name }
    Register-PSResourceRepository -Name $name -Uri $repo.FullName -Trusted
    try {
        Publish-PSResource -Path $ModuleDir -Repository $name
    }
    finally {
        Unregister-PSResourceRepository -Name $name
    }
    Get-ChildItem $repo -Filter 'PerUserMfa.*.nupkg' | ForEach-Object { Write-Host "Package: $($_.FullName)" -ForegroundColor Green }
}

foreach ($name in $Task) {
    Write-Host "=== $name ===" -ForegroundColor Cyan
    switch ($name) {
        'Bootstrap' { Invoke-Bootstrap }
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Demo' { Invoke-Demo }
        'Benchmark' { Invoke-Benchmark }
        'Package' { Invoke-Package }
        'Clean' { Remove-Item $OutRoot -Recurse -Force -ErrorAction SilentlyContinue; Invoke-Native cargo @('clean') }
    }
}
