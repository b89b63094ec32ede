<#
.SYNOPSIS
    Azure Automation runbook: reports every user's per-user MFA state, and optionally enforces
    or disables it for a list of users, as the Automation account's managed identity.

.DESCRIPTION
    Runtime: PowerShell 5.1, 7.2 or 7.4 (the module supports all three). Import the PerUserMfa
    module into the Automation account first (README: "Azure Automation"), enable the account's
    system-assigned managed identity (or attach a user-assigned one and pass its client id), and
    grant that identity the Microsoft Graph application permissions:

      report only : User.Read.All, Policy.Read.All (AuditLog.Read.All and
                    UserAuthenticationMethod.Read.All too, for reports that add sign-in activity
                    and registered methods)
      changes     : User.Read.All, Policy.ReadWrite.AuthenticationMethod

    Output: a one-line summary per state and, with -ChangeTo, one line per changed user, on the
    job's output stream; users that fail are written to the error stream and the others go on.
    The full report is written as CSV to the sandbox's temp folder and, with
    -StorageAccountName, uploaded to a blob container (needs the Az.Storage module and the
    Storage Blob Data Contributor role for the identity).

    The journal of a change (what Set-PerUserMfaState -ResumeJournal and Undo-PerUserMfaChange
    need later) would by default go to the sandbox's profile folder, which is deleted when the job
    ends. The runbook writes it to the temp folder instead, copies it to the job's output (the
    lines between "--- journal" markers: save them as a .jsonl file to resume or undo from any
    machine) and, with -StorageAccountName, uploads it next to the report.

    A cloud sandbox has 400 MB of memory: the report streams every user straight into the CSV and
    keeps only the counts, so its memory does not grow with the tenant. For very large tenants (and
    for long runs: a cloud job is stopped after three hours) use a Hybrid Runbook Worker.

.PARAMETER ClientId
    The client id of a user-assigned managed identity. Omit it to use the system-assigned one.

.PARAMETER ChangeTo
    Set this per-user MFA state (Disabled, Enabled or Enforced) for the users in -UserId.

.PARAMETER UserId
    User principal names or object ids to change (comma-separated when started from the portal).

.PARAMETER StorageAccountName
    Upload the CSV report and the change's journal to this storage account (container per-user-mfa).

.PARAMETER WhatIf
    With -ChangeTo: list the changes without making them.
#>
param(
    [string] $ClientId,
    [ValidateSet('Disabled', 'Enabled', 'Enforced')]
    [string] $ChangeTo,
    [string[]] $UserId,
    [string] $StorageAccountName,
    [switch] $WhatIf
)

$ErrorActionPreference = 'Stop'
# Progress records are noise in a job's output; they also cost time in the sandbox.
$ProgressPreference = 'SilentlyContinue'

Import-Module PerUserMfa

# Copies a file out of the sandbox (deleted when the job ends) to the blob container
# per-user-mfa of -StorageAccountName, signed in as the same managed identity.
function Save-ToStorage([string] $Path) {
    if (-not $script:storage) {
        Import-Module Az.Accounts, Az.Storage
        $azConnect = @{ Identity = $true }
        if ($ClientId) { $azConnect.AccountId = $ClientId }
        $null = Connect-AzAccount @azConnect
        $script:storage = New-AzStorageContext -StorageAccountName $StorageAccountName -UseConnectedAccount
    }
    $null = Set-AzStorageBlobContent -File $Path -Container 'per-user-mfa' -Blob (Split-Path $Path -Leaf) -Context $script:storage -Force
    Write-Output "Uploaded: $StorageAccountName/per-user-mfa/$(Split-Path $Path -Leaf)"
}
$script:storage = $null

# Sign in as the managed identity (Connect-PerUserMfa -Identity; -ClientId for a user-assigned one).
$connect = @{ Identity = $true }
if ($ClientId) { $connect.ClientId = $ClientId }
Connect-PerUserMfa @connect

try {
    if ($ChangeTo) {
        if (-not $UserId) { throw '-ChangeTo needs -UserId: the users to change.' }
        # Started from the portal, a string[] parameter arrives as one comma-separated string.
        $users = @($UserId | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        Write-Output "Setting per-user MFA to $ChangeTo for $($users.Count) users$(if ($WhatIf) { ' (WhatIf: nothing is sent)' })"
        $journal = Join-Path ([System.IO.Path]::GetTempPath()) ("per-user-mfa-{0:yyyyMMdd-HHmmss}-set-$ChangeTo.jsonl" -f (Get-Date).ToUniversalTime())
        try {
            $results = $users | Set-PerUserMfaState -State $ChangeTo -JournalPath $journal -PassThru -Confirm:$false -WhatIf:$WhatIf -ErrorAction Continue
            $results | Where-Object Changed | ForEach-Object { "{0}: {1} -> {2}" -f $_.UserPrincipalName, $_.PreviousState, $_.State }
            Write-Output ("Changed {0}, already {1}: {2}" -f @($results | Where-Object Changed).Count, $ChangeTo, @($results | Where-Object { -not $_.Changed }).Count)
        }
        finally {
            # Even when the run stops half-way: the journal is what finishes or undoes it later.
            if (Test-Path -LiteralPath $journal) {
                Write-Output "--- journal $(Split-Path $journal -Leaf) (save these lines as a .jsonl file for Set-PerUserMfaState -ResumeJournal or Undo-PerUserMfaChange)"
                Get-Content -LiteralPath $journal -Encoding UTF8
                Write-Output '--- end of journal'
                if ($StorageAccountName) { Save-ToStorage $journal }
            }
        }
    }

    # The report: every user, guests and unlicensed accounts included, streamed straight to the
    # CSV (never all in memory: a cloud sandbox has 400 MB) while the states are counted.
    $csv = Join-Path ([System.IO.Path]::GetTempPath()) ("per-user-mfa-{0:yyyyMMdd-HHmm}.csv" -f (Get-Date).ToUniversalTime())
    $counts = @{}
    Get-PerUserMfaState -All -ErrorAction Continue |
        ForEach-Object { $counts[$_.PerUserMfaState] = 1 + [int]$counts[$_.PerUserMfaState]; $_ } |
        Export-Csv -Path $csv -NoTypeInformation -Encoding UTF8

    $total = 0
    foreach ($count in $counts.Values) { $total += $count }
    Write-Output "Per-user MFA states of $total users:"
    $counts.GetEnumerator() | Sort-Object Name | ForEach-Object { '  {0,-9} {1,7}' -f $_.Name, $_.Value }
    Write-Output "Report: $csv"

    if ($StorageAccountName) { Save-ToStorage $csv }
}
finally {
    Disconnect-PerUserMfa
}
