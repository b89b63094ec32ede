<#
    Helpers the Pester suite, the demo and the benchmark share: start and stop the Graph
    simulator, mint tokens with chosen permissions, and read the simulator's ground truth and
    counters.
#>
Set-StrictMode -Version 3.0

function Start-GraphSim {
    [CmdletBinding()]
    param(
        [int] $Users = 200,
        [int] $Seed = 1,
        [string[]] $ExtraArguments = @(),
        [string] $SimulatorPath = $env:PUMFA_TEST_SIMULATOR
    )
    if (-not $SimulatorPath -or -not (Test-Path $SimulatorPath)) {
        throw "graph-sim not found at '$SimulatorPath'. Run ./build.ps1 Build first."
    }
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($SimulatorPath)
    Add-ProcessArgument $startInfo (@('--port', '0', '--users', $Users, '--seed', $Seed) + $ExtraArguments)
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $read = $process.StandardOutput.ReadLineAsync()
    if (-not $read.Wait([TimeSpan]::FromSeconds(30)) -or -not $read.Result) {
        $process.Kill()
        throw "graph-sim did not start: $($process.StandardError.ReadToEnd())"
    }
    $ready = $read.Result | ConvertFrom-Json
    [pscustomobject]@{ Process = $process; Url = $ready.url; Users = $ready.users }
}

function Add-ProcessArgument {
    <# Arguments for a ProcessStartInfo: ArgumentList on .NET (PowerShell 7), one quoted string on
       .NET Framework (Windows PowerShell 5.1, which has no ArgumentList). #>
    param([System.Diagnostics.ProcessStartInfo] $StartInfo, [object[]] $Arguments)
    if ($StartInfo.PSObject.Properties['ArgumentList']) {
        foreach ($argument in $Arguments) { $StartInfo.ArgumentList.Add([string]$argument) }
    }
    else {
        $StartInfo.Arguments = (@($Arguments) | ForEach-Object {
                $text = [string]$_
                if ($text -eq '' -or $text -match '[\s"]') { '"' + ($text -replace '(\\*)"', '$1$1\"' -replace '(\\+)$', '$1$1') + '"' } else { $text }
            }) -join ' '
    }
}

function Get-PowerShellCommand {
    <# How to start a fresh PowerShell of the kind running now: pwsh, powershell.exe (5.1), or
       pwsh as a dotnet tool (dotnet <pwsh.dll>). Returns FilePath and the Arguments before the script's. #>
    $self = (Get-Process -Id $PID).Path
    $name = [System.IO.Path]::GetFileNameWithoutExtension($self)
    if ($name -eq 'pwsh' -or $name -eq 'powershell') { return [pscustomobject]@{ FilePath = $self; Arguments = @() } }
    $entry = [System.Reflection.Assembly]::GetEntryAssembly()
    if ($entry -and $entry.Location -like '*pwsh.dll') { return [pscustomobject]@{ FilePath = $self; Arguments = @($entry.Location) } }
    $pwsh = Get-Command pwsh -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($pwsh) { return [pscustomobject]@{ FilePath = $pwsh.Source; Arguments = @() } }
    throw "Cannot tell how to start a fresh PowerShell from '$self'."
}

function Invoke-FreshPowerShell {
    <#
    .SYNOPSIS
        Runs a script file in a new PowerShell process of the same kind (no profile), with extra
        environment variables, and returns ExitCode, Output (stdout lines) and Errors (stderr text).
    #>
    param(
        [Parameter(Mandatory)] [string] $File,
        [object[]] $Arguments = @(),
        [hashtable] $Environment = @{},
        [int] $TimeoutSeconds = 300
    )
    $command = Get-PowerShellCommand
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($command.FilePath)
    Add-ProcessArgument $startInfo (@($command.Arguments) + @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $File) + $Arguments)
    foreach ($key in $Environment.Keys) { $startInfo.EnvironmentVariables[$key] = [string]$Environment[$key] }
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        $process.Kill()
        throw "$File did not finish within $TimeoutSeconds s."
    }
    $process.WaitForExit()
    [pscustomobject]@{
        ExitCode = $process.ExitCode
        Output   = @($stdout.Result -split "\r?\n" | Where-Object { $_ -ne '' })
        Errors   = $stderr.Result
    }
}

function Get-ModuleFullVersion {
    <# ModuleVersion plus -Prerelease, as the package and Cargo.toml spell it. #>
    param([Parameter(Mandatory)] [string] $ManifestPath)
    $manifest = Import-PowerShellDataFile -LiteralPath $ManifestPath
    $version = [string]$manifest.ModuleVersion
    $psData = $manifest.PrivateData.PSData
    if ($psData -and $psData.ContainsKey('Prerelease') -and $psData.Prerelease) { $version += '-' + $psData.Prerelease }
    $version
}

function Get-CargoVersion {
    <# [workspace.package] version in the repository's Cargo.toml: the one version source. #>
    $cargo = [System.IO.File]::ReadAllText((Join-Path $PSScriptRoot '../Cargo.toml'))
    if ($cargo -notmatch '(?ms)^\[workspace\.package\][^\[]*?^version\s*=\s*"([^"]+)"') { throw 'Cargo.toml has no [workspace.package] version.' }
    $Matches[1]
}

function Get-EngineFileName {
    <# The engine's file name for a RID. #>
    param([Parameter(Mandatory)] [string] $Rid)
    if ($Rid -like 'win-*') { 'perusermfa_engine.dll' } elseif ($Rid -like 'osx-*') { 'libperusermfa_engine.dylib' } else { 'libperusermfa_engine.so' }
}

function Get-HostRid {
    <# The RID of the running process, as the module's loader computes it. #>
    $isWin = [System.Runtime.InteropServices.RuntimeInformation]::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::Windows)
    $isMac = [System.Runtime.InteropServices.RuntimeInformation]::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::OSX)
    $os = if ($isWin) { 'win' } elseif ($isMac) { 'osx' } else { 'linux' }
    "$os-$([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant())"
}

function Stop-GraphSim {
    param([Parameter(Mandatory)] $Sim)
    if ($Sim -and -not $Sim.Process.HasExited) {
        $Sim.Process.Kill()
        $null = $Sim.Process.WaitForExit(5000)
    }
}

function New-SimToken {
    <# A token the simulator accepts, with app permissions (roles) or delegated scopes. #>
    param(
        [Parameter(Mandatory)] $Sim,
        [string[]] $Roles,
        [string] $Scopes,
        [int] $LifetimeSeconds = 3600,
        [switch] $AsPlainText
    )
    $body = @{ lifetimeSeconds = $LifetimeSeconds }
    if ($PSBoundParameters.ContainsKey('Roles')) { $body.roles = @($Roles) }
    if ($Scopes) { $body.scp = $Scopes }
    $answer = Invoke-RestMethod -Method Post -Uri "$($Sim.Url)/_sim/token" -Body ($body | ConvertTo-Json) -ContentType 'application/json'
    if ($AsPlainText) { return $answer.access_token }
    ConvertTo-SecureString $answer.access_token -AsPlainText -Force
}

function Get-SimUser { param([Parameter(Mandatory)] $Sim) Invoke-RestMethod -Uri "$($Sim.Url)/_sim/users" }
function Get-SimStats { param([Parameter(Mandatory)] $Sim) Invoke-RestMethod -Uri "$($Sim.Url)/_sim/stats" }
function Reset-SimStats { param([Parameter(Mandatory)] $Sim) $null = Invoke-RestMethod -Method Post -Uri "$($Sim.Url)/_sim/stats/reset" }
function Reset-SimTenant { param([Parameter(Mandatory)] $Sim) $null = Invoke-RestMethod -Method Post -Uri "$($Sim.Url)/_sim/reset" }

function Set-SimConfig {
    param([Parameter(Mandatory)] $Sim, [Parameter(Mandatory)] [hashtable] $Settings)
    Invoke-RestMethod -Method Post -Uri "$($Sim.Url)/_sim/config" -Body ($Settings | ConvertTo-Json) -ContentType 'application/json'
}

# Permission sets the tests use.
$script:ReadRoles = @('User.Read.All', 'Policy.Read.All')
$script:WriteRoles = @('User.Read.All', 'Policy.ReadWrite.AuthenticationMethod')
function Get-ReadRoles { $script:ReadRoles }
function Get-WriteRoles { $script:WriteRoles }

Export-ModuleMember -Function Start-GraphSim, Stop-GraphSim, New-SimToken, Get-SimUser, Get-SimStats, Reset-SimStats,
    Reset-SimTenant, Set-SimConfig, Get-ReadRoles, Get-WriteRoles,
    Add-ProcessArgument, Get-PowerShellCommand, Invoke-FreshPowerShell, Get-ModuleFullVersion, Get-CargoVersion,
    Get-EngineFileName, Get-HostRid
