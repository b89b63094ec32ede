<#
.SYNOPSIS
    How long Export-PerUserMfaReport takes for a large tenant, and how big the file gets
    (the goal: generated within seconds for 100,000 users).

.DESCRIPTION
    Builds synthetic PerUserMfa.UserState objects in memory (no Graph, no simulator), then times
    piping them to Export-PerUserMfaReport. Only the rendering is timed.

.EXAMPLE
    dotnet pwsh bench/Measure-HtmlReport.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [int] $Users = 100000,
    [string] $Path = (Join-Path ([IO.Path]::GetTempPath()) 'pumfa-report-benchmark.html')
)
$ErrorActionPreference = 'Stop'
Import-Module (Resolve-Path $ModuleManifest).Path
$states = 'Disabled', 'Enabled', 'Enforced'
$rows = foreach ($i in 1..$Users) {
    $row = [pscustomobject]@{
        UserPrincipalName = "user$i@contoso.com"; DisplayName = "User $i"; Id = [guid]::NewGuid().ToString(); PerUserMfaState = $states[$i % 3]
    }
    $row.PSObject.TypeNames.Insert(0, 'PerUserMfa.UserState')
    $row
}
$clock = [System.Diagnostics.Stopwatch]::StartNew()
$file = $rows | Export-PerUserMfaReport -Path $Path -PassThru
$clock.Stop()
"$Users users: $([math]::Round($clock.Elapsed.TotalSeconds, 1)) s, $([math]::Round($file.Length / 1MB, 1)) MB ($Path)"
