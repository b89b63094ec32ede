<#
.SYNOPSIS
    The README's demo: a sample tenant in the Graph simulator, the cmdlets against it, a CSV.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [Parameter(Mandatory)] [string] $OutputDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
$sim = Start-GraphSim -Users 25 -Seed 7 -SimulatorPath $SimulatorPath
try {
    Write-Host "Graph simulator with a 25-user sample tenant at $($sim.Url)" -ForegroundColor Cyan
    Import-Module $ModuleManifest
    $token = New-SimToken -Sim $sim -Roles 'User.Read.All', 'Policy.ReadWrite.AuthenticationMethod'

    Write-Host "`nPS> Connect-PerUserMfa -AccessToken `$token -GraphEndpoint $($sim.Url)" -ForegroundColor Yellow
    Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url

    Write-Host "`nPS> Get-PerUserMfaState   # licensed member accounts" -ForegroundColor Yellow
    Get-PerUserMfaState | Sort-Object UserPrincipalName | Format-Table | Out-Host

    $null = New-Item -ItemType Directory -Force $OutputDirectory
    $csv = Join-Path $OutputDirectory 'per-user-mfa.csv'
    Write-Host "PS> Get-PerUserMfaState -All | Export-Csv $csv" -ForegroundColor Yellow
    Get-PerUserMfaState -All | Sort-Object UserPrincipalName | Export-Csv -Path $csv -NoTypeInformation -Encoding utf8
    Get-Content $csv | Out-Host

    Write-Host "`nPS> Set-PerUserMfaState -UserId adele.vance@contoso.com -State Enforced -PassThru -Force -JournalPath $OutputDirectory" -ForegroundColor Yellow
    Set-PerUserMfaState -UserId 'adele.vance@contoso.com' -State Enforced -PassThru -Force -JournalPath $OutputDirectory | Format-Table | Out-Host

    Write-Host "PS> Get-PerUserMfaState -UserId adele.vance@contoso.com, nobody@contoso.com" -ForegroundColor Yellow
    Get-PerUserMfaState -UserId 'adele.vance@contoso.com', 'nobody@contoso.com' -ErrorAction Continue | Format-Table | Out-Host
    Disconnect-PerUserMfa
    Write-Host "The CSV is at $csv" -ForegroundColor Green
}
finally {
    Stop-GraphSim $sim
}
