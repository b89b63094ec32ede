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
    foreach ($argument in @('--port', '0', '--users', $Users, '--seed', $Seed) + $ExtraArguments) {
        $startInfo.ArgumentList.Add([string]$argument)
    }
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
    Reset-SimTenant, Set-SimConfig, Get-ReadRoles, Get-WriteRoles
