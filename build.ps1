#Requires -Version 7.2
<#
.SYNOPSIS
    Builds, tests, demonstrates, benchmarks and packages the PerUserMfa module.

.DESCRIPTION
    Named tasks, run in the order given (each pulls in what it needs):

      Bootstrap  restore the local dotnet tools (pwsh) and the PowerShell modules the tests use (Pester)
      Check      the gates CI runs before any test, cheapest first, each stopping with the command
                 that fixes what it found: cargo fmt, dotnet format (whitespace, style), the
                 PowerShell code-health test (tests/CodeHealth.Tests.ps1), cargo clippy
      Build      the Rust engine and Graph simulator (cargo), the module assembly (dotnet), the help
                 (docs/help/*.md -> en-US/), and the module folder out/PerUserMfa/<version>/ laid out
                 exactly as it ships
      Test       cargo test, dotnet test (xunit), Package and AutomationZip, and the Pester suite in a
                 fresh pwsh against graph-sim
      Demo       start graph-sim with a sample tenant, run the cmdlets, export and show a CSV
      Benchmark  the throughput benchmark (see BENCHMARKS.md)
      Package    the .nupkg, published with Publish-PSResource to a local file repository (out/repo)
      AutomationZip  out/PerUserMfa.zip, the module as Azure Automation imports it

    The version comes from one place, [workspace.package] in Cargo.toml (the crates inherit it),
    and is stamped into the manifest (ModuleVersion, and PSData.Prerelease for a pre-release such
    as 0.2.0-beta1) and the assembly at build time.

    With -NativeArtifacts, Build takes the native engines from a folder of prebuilt ones (one
    subfolder per RID, named <rid> or native-<rid>, holding the engine file) instead of building
    the engine with cargo: the release workflow assembles one package from every platform's build
    this way, with the same layout step as a local build.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Demo

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Check Test

.EXAMPLE
    dotnet pwsh ./build.ps1 Build, Package, AutomationZip -NativeArtifacts ./natives
#>
[CmdletBinding()]
param(
    # One or more of the tasks above: ./build.ps1 Build Package, or Build,Package (pwsh -File passes
    # a comma list as one string).
    [Parameter(Position = 0, ValueFromRemainingArguments = $true)]
    [string[]] $Task = @('Build'),

    # Cargo profile for the engine and the simulator.
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Pester: run only test files whose name matches.
    [string] $TestFilter = '*',

    # Extra arguments for the Benchmark task (see bench/Invoke-Benchmark.ps1).
    [hashtable] $BenchmarkParameters = @{},

    # Build: lay the module out with these prebuilt native engines (<dir>/<rid>/<engine file> or
    # <dir>/native-<rid>/<engine file>) instead of building the engine with cargo.
    [string] $NativeArtifacts
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$KnownTasks = @('Bootstrap', 'Check', 'Build', 'Test', 'Demo', 'Benchmark', 'Package', 'AutomationZip', 'Clean')
$Task = @($Task | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })
foreach ($name in $Task) {
    if ($KnownTasks -notcontains $name) { throw "Unknown task '$name'. Tasks: $($KnownTasks -join ', ')." }
}
$OutRoot = Join-Path $Root 'out'

function Invoke-Native {
    # Runs a native command and fails the build when it fails.
    param([string] $Command, [string[]] $Arguments)
    Write-Host "> $Command $($Arguments -join ' ')" -ForegroundColor DarkGray
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command exited with code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    # The one version source. A pre-release label must be letters and digits only (0.2.0-beta1):
    # then Cargo, .NET and the PowerShell Gallery (which allows nothing else) all read it alike.
    $cargo = Get-Content (Join-Path $Root 'Cargo.toml') -Raw
    if ($cargo -notmatch '(?ms)^\[workspace\.package\][^\[]*?^version\s*=\s*"([^"]+)"') {
        throw 'Cargo.toml has no [workspace.package] version.'
    }
    $full = $Matches[1]
    if ($full -notmatch '^(\d+\.\d+\.\d+)(?:-([0-9A-Za-z]+))?$') {
        throw "Cargo.toml's version '$full' must be MAJOR.MINOR.PATCH with an optional letters-and-digits pre-release label (0.2.0-beta1): the PowerShell Gallery accepts no other form."
    }
    [pscustomobject]@{ Full = $full; Release = $Matches[1]; Prerelease = $Matches[2] }
}

function Get-RidFromTriple([string] $Triple) {
    # A Rust target triple as the .NET runtime identifier the module folder uses.
    $arch = switch -Wildcard ($Triple) { 'x86_64-*' { 'x64' } 'aarch64-*' { 'arm64' } 'i686-*' { 'x86' } default { throw "No RID for target $Triple" } }
    $os = switch -Wildcard ($Triple) { '*-windows-*' { 'win' } '*-apple-darwin' { 'osx' } '*-linux-*' { 'linux' } default { throw "No RID for target $Triple" } }
    "$os-$arch"
}

function Get-HostRid {
    # The RID of what cargo builds here: rustc's host triple (not the OS's, which differs under emulation).
    $rustc = & rustc -vV 2>$null
    $hostLine = $rustc | Where-Object { $_ -like 'host: *' } | Select-Object -First 1
    if ($hostLine) { return Get-RidFromTriple $hostLine.Substring(6).Trim() }
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
    "$os-$([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant())"
}

function Get-NativeFileName([string] $Rid) {
    switch -Wildcard ($Rid) {
        'win-*' { 'perusermfa_engine.dll' }
        'osx-*' { 'libperusermfa_engine.dylib' }
        default { 'libperusermfa_engine.so' }
    }
}

$VersionInfo = Get-ModuleVersion
$Version = $VersionInfo.Release
$ModuleDir = Join-Path $OutRoot "PerUserMfa/$Version"
$PackageDir = Join-Path $OutRoot 'repo'
$AutomationZip = Join-Path $OutRoot 'PerUserMfa.zip'
$CargoDir = Join-Path $Root "target/$($Configuration.ToLowerInvariant())"
$SimExe = Join-Path $CargoDir ($IsWindows ? 'graph-sim.exe' : 'graph-sim')

function Invoke-Bootstrap {
    Invoke-Native dotnet @('tool', 'restore')
    Invoke-Native dotnet @('restore', (Join-Path $Root 'build/BuildTools.csproj'), '--verbosity', 'quiet')
    if (-not $NativeArtifacts -and -not (Get-Command cargo -ErrorAction SilentlyContinue)) {
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

function Get-NativeEngine {
    # RID -> engine file: the one cargo just built here, or every one under -NativeArtifacts.
    $engines = [ordered]@{}
    if (-not $NativeArtifacts) {
        $rid = Get-HostRid
        $engines[$rid] = Join-Path $CargoDir (Get-NativeFileName $rid)
        return $engines
    }
    if (-not (Test-Path $NativeArtifacts -PathType Container)) { throw "-NativeArtifacts: '$NativeArtifacts' is not a folder." }
    foreach ($folder in Get-ChildItem $NativeArtifacts -Directory | Sort-Object Name) {
        $rid = $folder.Name -replace '^native-', ''
        if ($rid -notmatch '^(win|linux|osx)-(x64|arm64|x86|arm)$') { throw "-NativeArtifacts: '$($folder.Name)' is not named <rid> or native-<rid>." }
        $file = @(Get-ChildItem $folder.FullName -Recurse -File -Filter (Get-NativeFileName $rid))
        if ($file.Count -ne 1) { throw "-NativeArtifacts: $($folder.FullName) must hold exactly one $(Get-NativeFileName $rid) (found $($file.Count))." }
        $engines[$rid] = $file[0].FullName
    }
    if ($engines.Count -eq 0) { throw "-NativeArtifacts: no <rid> folders in '$NativeArtifacts'." }
    $engines
}

function Get-ReleaseNotesText {
    # This version's section of CHANGELOG.md (the Unreleased one between releases), with a link
    # to the whole history.
    Import-Module (Join-Path $Root 'build/Changelog.psm1') -Force
    $notes = Get-ReleaseNote -Path (Join-Path $Root 'CHANGELOG.md') -Version $VersionInfo.Full
    "$notes`n`nAll changes: https://github.com/PerUserMfa/PerUserMfa/blob/main/CHANGELOG.md"
}

function Set-ManifestVersion([string] $Manifest) {
    # ModuleVersion, PSData.Prerelease when the version has a pre-release label, and
    # PSData.ReleaseNotes from CHANGELOG.md.
    $text = (Get-Content $Manifest -Raw) -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion = '$Version'"
    if ($text -notmatch "(?m)^\s*ReleaseNotes\s*=\s*'(?:[^']|'')*'") { throw "$Manifest has no ReleaseNotes = '...' to stamp." }
    $notes = (Get-ReleaseNotesText).Replace("'", "''")
    $text = [regex]::Replace($text, "(?m)^(\s*ReleaseNotes\s*=\s*)'(?:[^']|'')*'", { param($match) $match.Groups[1].Value + "'" + $notes + "'" })
    $text = $text -replace "(?m)^\s*Prerelease\s*=.*\r?\n", ''
    if ($VersionInfo.Prerelease) {
        if ($text -notmatch '(?m)^(\s*)PSData\s*=\s*@\{[^\r\n]*\r?\n') { throw "$Manifest has no PSData section for the Prerelease label." }
        $text = $text -replace '(?m)^(\s*)(PSData\s*=\s*@\{[^\r\n]*\r?\n)', "`$1`$2`$1    Prerelease   = '$($VersionInfo.Prerelease)'`n"
    }
    Set-Content $Manifest $text -NoNewline -Encoding utf8
}

function Invoke-Build {
    if ($script:Built) { return }
    Invoke-Bootstrap
    if (-not $NativeArtifacts) {
        $cargoArgs = @('build', '-p', 'perusermfa-engine', '-p', 'graph-sim')
        if ($Configuration -eq 'Release') { $cargoArgs += '--release' }
        Invoke-Native cargo $cargoArgs
    }

    $dotnetOut = Join-Path $OutRoot 'dotnet'
    Invoke-Native dotnet @('build', (Join-Path $Root 'dotnet/PerUserMfa/PerUserMfa.csproj'), '-c', 'Release',
        "-p:Version=$($VersionInfo.Full)", '-o', $dotnetOut, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')

    # Lay the module out exactly as it ships: what is copied here is the whole package
    # (tests/Install.Tests.ps1 checks it against an explicit list).
    if (Test-Path $ModuleDir) { Remove-Item $ModuleDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Force $ModuleDir
    $engines = Get-NativeEngine
    foreach ($rid in $engines.Keys) {
        $nativeDir = New-Item -ItemType Directory -Force (Join-Path $ModuleDir "runtimes/$rid/native")
        Copy-Item $engines[$rid] $nativeDir
    }
    Copy-Item (Join-Path $dotnetOut 'PerUserMfa.dll') $ModuleDir
    Copy-Item (Join-Path $Root 'module/*') $ModuleDir -Recurse
    Copy-Item (Join-Path $Root 'LICENSE') (Join-Path $ModuleDir 'LICENSE.txt')
    Set-ManifestVersion (Join-Path $ModuleDir 'PerUserMfa.psd1')
    # The same notes for the GitHub release (.github/workflows/release.yml).
    Set-Content (Join-Path $OutRoot 'release-notes.md') (Get-ReleaseNotesText) -Encoding utf8

    # Help from docs/help, with the syntax read from the built cmdlets (in a fresh pwsh: the
    # build's own process never loads the module's DLL).
    Invoke-FreshPwsh (Join-Path $Root 'build/ConvertTo-MamlHelp.ps1') @('-ModuleManifest', (Join-Path $ModuleDir 'PerUserMfa.psd1'),
        '-MarkdownPath', (Join-Path $Root 'docs/help'))
    if ($LASTEXITCODE -ne 0) { throw 'Building the help failed.' }
    Write-Host "Module $($VersionInfo.Full) laid out at $ModuleDir ($($engines.Keys -join ', '))" -ForegroundColor Green
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
    # process (it would stay locked), and each run starts from a clean session. The arguments go
    # through ProcessStartInfo.ArgumentList: pwsh on Linux and macOS expands wildcards in native
    # command arguments, so '& pwsh ... -Filter *' would receive the file names of the current
    # directory. The child writes straight to this console; its exit code is in $LASTEXITCODE.
    param([string] $Script, [string[]] $Arguments = @())
    $self = (Get-Process -Id $PID).Path
    $pwshArgs = @('-NoProfile', '-NonInteractive', '-File', $Script) + $Arguments
    Write-Host "> pwsh $($pwshArgs -join ' ')" -ForegroundColor DarkGray
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($self)
    if ([IO.Path]::GetFileNameWithoutExtension($self) -ne 'pwsh') {
        # pwsh as a dotnet tool: this process is 'dotnet <pwsh.dll>'.
        $startInfo.ArgumentList.Add([System.Reflection.Assembly]::GetEntryAssembly().Location)
    }
    foreach ($argument in $pwshArgs) { $startInfo.ArgumentList.Add([string]$argument) }
    $startInfo.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $process.WaitForExit()
    $global:LASTEXITCODE = $process.ExitCode
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

    # Microsoft's Graph SDK against the simulator: a shape the SDK cannot read fails here.
    $env:PUMFA_TEST_SIMULATOR = $SimExe
    $conformance = Invoke-CapturedNative dotnet @('test', (Join-Path $Root 'dotnet/PerUserMfa.Conformance.Tests/PerUserMfa.Conformance.Tests.csproj'), '--nologo', '-v', 'quiet')
    foreach ($line in $conformance.Lines) {
        if ($line -match 'Failed:\s*(\d+),\s*Passed:\s*(\d+),\s*Skipped:\s*(\d+)') {
            Add-Counts $Matches[2] $Matches[1] $Matches[3]
        }
    }
    if ($conformance.ExitCode -ne 0) { $failures += 'SDK conformance tests' }

    # The package and the Automation zip, which tests/Install.Tests.ps1 installs and inspects.
    $package = Invoke-Package
    $zip = Invoke-AutomationZip
    $env:PUMFA_TEST_PACKAGE = $package
    $env:PUMFA_TEST_AUTOMATION_ZIP = $zip

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

function Invoke-Check {
    # Each gate: what runs, and what to do when it fails. Cheapest first, so a formatting slip
    # fails in seconds; clippy last (it compiles the workspace in check mode).
    Invoke-Bootstrap
    $null = New-Item -ItemType Directory -Force $OutRoot
    $gates = @(
        @{ Name = 'cargo fmt'; Fix = 'run cargo fmt --all'; Run = { Invoke-Native cargo @('fmt', '--all', '--check') } }
        @{ Name = 'dotnet format whitespace'; Fix = 'run dotnet format whitespace --folder dotnet'
            Run = { Invoke-Native dotnet @('format', 'whitespace', '--folder', (Join-Path $Root 'dotnet'), '--verify-no-changes') } }
        @{ Name = 'PowerShell code health'; Fix = 'fix what tests/CodeHealth.Tests.ps1 lists above'
            Run = {
                Invoke-FreshPwsh (Join-Path $Root 'tests/Invoke-PesterSuite.ps1') @('-PesterManifest', (Get-PesterManifest),
                    '-ResultFile', (Join-Path $OutRoot 'code-health-result.json'), '-Filter', 'CodeHealth')
                if ($LASTEXITCODE -ne 0) { throw 'tests/CodeHealth.Tests.ps1 failed.' }
            } }
        # The style rules .editorconfig raises to warnings (the analyzers already run in the
        # build, with warnings as errors).
        @{ Name = 'dotnet format style'; Fix = 'run dotnet format style dotnet/PerUserMfa.sln'
            Run = { Invoke-Native dotnet @('format', 'style', (Join-Path $Root 'dotnet/PerUserMfa.sln'), '--verify-no-changes') } }
        # In the profile of this run (-Configuration): clippy then shares the build scripts and
        # proc macros (aws-lc's C library above all) with the build and tests that follow, instead
        # of compiling them a second time in the other profile.
        @{ Name = 'cargo clippy'; Fix = 'fix the lints clippy lists (cargo clippy --workspace --all-targets -- -D warnings)'
            Run = {
                $clippyArgs = @('clippy', '--workspace', '--all-targets')
                if ($Configuration -eq 'Release') { $clippyArgs += '--release' }
                Invoke-Native cargo ($clippyArgs + @('--', '-D', 'warnings'))
            } }
    )
    foreach ($gate in $gates) {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        try { & $gate.Run }
        catch { throw "Gate '$($gate.Name)' failed: $($gate.Fix). ($($_.Exception.Message))" }
        Write-Host "gate '$($gate.Name)' passed in $([int]$watch.Elapsed.TotalSeconds) s" -ForegroundColor Green
    }
}

function Invoke-Demo {
    Invoke-Build
    Invoke-FreshPwsh (Join-Path $Root 'demo/Invoke-Demo.ps1') @('-ModuleManifest', (Join-Path $ModuleDir 'PerUserMfa.psd1'),
        '-SimulatorPath', $SimExe, '-OutputDirectory', (Join-Path $OutRoot 'demo'))
    if ($LASTEXITCODE -ne 0) { throw 'The demo failed.' }
}

function Invoke-Benchmark {
    $script:Configuration = 'Release'
    Invoke-Build
    $extra = foreach ($key in $BenchmarkParameters.Keys) { "-$key"; "$($BenchmarkParameters[$key])" }
    Invoke-FreshPwsh (Join-Path $Root 'bench/Invoke-Benchmark.ps1') (@('-ModuleManifest', (Join-Path $ModuleDir 'PerUserMfa.psd1'),
        '-SimulatorPath', $SimExe) + @($extra))
    if ($LASTEXITCODE -ne 0) { throw 'The benchmark failed.' }
}

function Invoke-Package {
    # Returns the .nupkg's path.
    Invoke-Build | Out-Host
    if ($script:PackagePath) { return $script:PackagePath }
    $null = New-Item -ItemType Directory -Force $PackageDir
    Get-ChildItem $PackageDir -Filter 'PerUserMfa.*.nupkg' | Remove-Item
    Invoke-FreshPwsh (Join-Path $Root 'build/New-ModulePackage.ps1') @('-ModuleDirectory', $ModuleDir, '-OutputDirectory', $PackageDir) | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Packing the module failed.' }
    $script:PackagePath = Join-Path $PackageDir "PerUserMfa.$($VersionInfo.Full).nupkg"
    if (-not (Test-Path $script:PackagePath)) { throw "No package at $script:PackagePath." }
    Write-Host "Package: $script:PackagePath" -ForegroundColor Green
    $script:PackagePath
}

function Invoke-AutomationZip {
    # Returns the zip's path.
    Invoke-Build | Out-Host
    if ($script:ZipPath) { return $script:ZipPath }
    Invoke-FreshPwsh (Join-Path $Root 'build/New-AutomationZip.ps1') @('-ModuleDirectory', $ModuleDir, '-DestinationPath', $AutomationZip) | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Making the Azure Automation zip failed.' }
    Write-Host "Azure Automation zip: $AutomationZip" -ForegroundColor Green
    $script:ZipPath = $AutomationZip
    $script:ZipPath
}
$script:PackagePath = $null
$script:ZipPath = $null

foreach ($name in $Task) {
    Write-Host "=== $name ===" -ForegroundColor Cyan
    switch ($name) {
        'Bootstrap' { Invoke-Bootstrap }
        'Check' { Invoke-Check }
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Demo' { Invoke-Demo }
        'Benchmark' { Invoke-Benchmark }
        'Package' { $null = Invoke-Package }
        'AutomationZip' { $null = Invoke-AutomationZip }
        'Clean' { Remove-Item $OutRoot -Recurse -Force -ErrorAction SilentlyContinue; Invoke-Native cargo @('clean') }
    }
}
