<#
.SYNOPSIS
    One benchmark run in its own pwsh process, so its peak memory is its own. Prints one JSON
    line: what came out, how long it took, and how much the process grew.

.PARAMETER Kind
    Module      Get-PerUserMfaState -All | Export-Csv (the module, end to end)
    Sequential  the loop admins use today: one Invoke-RestMethod per user, one at a time
    Parallel    a careful admin's loop: ForEach-Object -Parallel with Invoke-RestMethod
#>
param(
    [Parameter(Mandatory)] [ValidateSet('Module', 'Sequential', 'Parallel')] [string] $Kind,
    [Parameter(Mandatory)] [string] $GraphUrl,
    [Parameter(Mandatory)] [string] $Token,
    [string] $ModuleManifest,
    [string] $CsvPath,
    [int] $Sample = 200,
    [int] $ThrottleLimit = 20,
    [int] $ModuleThrottleLimit = 0
)
$ErrorActionPreference = 'Stop'
$process = [System.Diagnostics.Process]::GetCurrentProcess()
$headers = @{ Authorization = "Bearer $Token" }

if ($Kind -eq 'Module') {
    Import-Module $ModuleManifest
    Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $Token -AsPlainText -Force) -GraphEndpoint $GraphUrl
    [GC]::Collect()
    $process.Refresh()
    $baseline = $process.WorkingSet64
    $errors = 0
    $firstObjectSeconds = $null
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $parameters = @{ All = $true; ErrorVariable = '+runErrors'; ErrorAction = 'SilentlyContinue' }
    if ($ModuleThrottleLimit -gt 0) { $parameters.ThrottleLimit = $ModuleThrottleLimit }
    $ProgressPreference = 'SilentlyContinue'
    $runErrors = @()
    Get-PerUserMfaState @parameters |
        ForEach-Object { if ($null -eq $firstObjectSeconds) { $firstObjectSeconds = $clock.Elapsed.TotalSeconds }; $_ } |
        Export-Csv -Path $CsvPath -NoTypeInformation -Encoding utf8
    $clock.Stop()
    $process.Refresh()
    $ids = [System.Collections.Generic.HashSet[string]]::new()
    $rows = 0
    Import-Csv $CsvPath | ForEach-Object { $rows++; $null = $ids.Add($_.Id) }
    [ordered]@{
        kind = $Kind; seconds = $clock.Elapsed.TotalSeconds; firstObjectSeconds = $firstObjectSeconds
        objects = $rows; uniqueIds = $ids.Count; errors = $runErrors.Count
        peakGrowthMB = [math]::Round(($process.PeakWorkingSet64 - $baseline) / 1MB, 1)
    } | ConvertTo-Json -Compress
    return
}

# The loops read the user list first (as the scripts do with Get-MgUser); only the per-user
# part is timed.
$users = [System.Collections.Generic.List[string]]::new()
$next = "$GraphUrl/v1.0/users?`$select=id&`$top=999"
while ($next -and $users.Count -lt $Sample) {
    $page = Invoke-RestMethod -Uri $next -Headers $headers
    foreach ($user in $page.value) { if ($users.Count -lt $Sample) { $users.Add($user.id) } }
    $next = $page.'@odata.nextLink'
}
$clock = [System.Diagnostics.Stopwatch]::StartNew()
if ($Kind -eq 'Sequential') {
    $ok = 0; $failed = 0
    foreach ($id in $users) {
        try {
            $null = Invoke-RestMethod -Uri "$GraphUrl/beta/users/$id/authentication/requirements" -Headers $headers
            $ok++
        }
        catch { $failed++ }
    }
}
else {
    $outcomes = $users | ForEach-Object -ThrottleLimit $ThrottleLimit -Parallel {
        try {
            $null = Invoke-RestMethod -Uri "$using:GraphUrl/beta/users/$_/authentication/requirements" -Headers $using:headers
            $true
        }
        catch { $false }
    }
    $ok = @($outcomes | Where-Object { $_ }).Count
    $failed = @($outcomes | Where-Object { -not $_ }).Count
}
$clock.Stop()
[ordered]@{ kind = $Kind; seconds = $clock.Elapsed.TotalSeconds; objects = $ok; uniqueIds = $ok; errors = $failed; users = $users.Count } |
    ConvertTo-Json -Compress
