<#
.SYNOPSIS
    Checks that a PerUserMfa package holds the native engine for every runtime identifier (RID)
    its manifest promises, each built for the right processor.

.DESCRIPTION
    Reads the module manifest inside the package (a .nupkg, an Azure Automation .zip or a module
    folder), takes PrivateData.PerUserMfa.SupportedRids (or the RIDs given with -Rid), and for
    each RID looks for runtimes/<rid>/native/<engine file> (perusermfa_engine.dll on win-*,
    libperusermfa_engine.so on linux-*, libperusermfa_engine.dylib on osx-*). It also reads the
    file's header (PE, ELF or Mach-O) and checks the machine type matches the RID, so an arm64
    folder holding an x64 build is caught.

    Writes one object per RID (Rid, Present, Architecture, Entry, Problem). Fails (a terminating
    error) when a RID is missing or wrong, unless -AllowMissing is given; the release workflow runs
    it without -AllowMissing before publishing.

    Runs on Windows PowerShell 5.1 and PowerShell 7.

.EXAMPLE
    ./build/Test-PackageRids.ps1 -Path out/repo/PerUserMfa.0.1.0.nupkg

.EXAMPLE
    ./build/Test-PackageRids.ps1 -Path out/PerUserMfa.zip -Rid win-x64
#>
[CmdletBinding()]
param(
    # A .nupkg, a .zip (Azure Automation layout: PerUserMfa/PerUserMfa.psd1) or a module folder.
    [Parameter(Mandatory)] [string] $Path,
    # The RIDs to require; default: the manifest's PrivateData.PerUserMfa.SupportedRids.
    [string[]] $Rid,
    # Report missing RIDs without failing.
    [switch] $AllowMissing
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$engineName = 'perusermfa_engine'
function Get-EngineFileName([string] $RuntimeId) {
    <#
    .SYNOPSIS
        The engine's file name for a runtime identifier (perusermfa_engine.dll, lib...so, lib...dylib).
    #>
    switch -Wildcard ($RuntimeId) {
        'win-*' { return "$engineName.dll" }
        'linux-*' { return "lib$engineName.so" }
        'osx-*' { return "lib$engineName.dylib" }
        default { throw "Unknown runtime identifier '$RuntimeId' (expected win-*, linux-* or osx-*)." }
    }
}

function Get-BinaryArchitecture {
    <#
    .SYNOPSIS
        The processor a native binary is built for, from its first bytes: x64, arm64, x86, or a list for a universal Mach-O.
    #>
    param([byte[]] $Bytes)
    if ($Bytes.Length -lt 64) { return 'unknown (file too short)' }
    if ($Bytes[0] -eq 0x4D -and $Bytes[1] -eq 0x5A) {
        $peOffset = [System.BitConverter]::ToInt32($Bytes, 0x3C)
        if ($peOffset -le 0 -or $peOffset + 6 -gt $Bytes.Length) { return 'unknown (PE header out of range)' }
        $machine = [System.BitConverter]::ToUInt16($Bytes, $peOffset + 4)
        switch ($machine) { 0x8664 { return 'x64' } 0xAA64 { return 'arm64' } 0x014C { return 'x86' } default { return ('PE machine 0x{0:X4}' -f $machine) } }
    }
    if ($Bytes[0] -eq 0x7F -and $Bytes[1] -eq 0x45 -and $Bytes[2] -eq 0x4C -and $Bytes[3] -eq 0x46) {
        $machine = [System.BitConverter]::ToUInt16($Bytes, 18)
        switch ($machine) { 0x3E { return 'x64' } 0xB7 { return 'arm64' } 0x03 { return 'x86' } default { return ('ELF machine 0x{0:X4}' -f $machine) } }
    }
    $cpuName = { param([uint32] $cpu) switch ($cpu) { 0x01000007 { 'x64' } 0x0100000C { 'arm64' } default { 'Mach-O cpu 0x{0:X8}' -f $cpu } } }
    # (Byte by byte: PowerShell reads a hex literal above 0x7FFFFFFF as a negative Int32.)
    if ($Bytes[0] -eq 0xCF -and $Bytes[1] -eq 0xFA -and $Bytes[2] -eq 0xED -and $Bytes[3] -eq 0xFE) { return (& $cpuName ([System.BitConverter]::ToUInt32($Bytes, 4))) }
    if ($Bytes[0] -eq 0xCA -and $Bytes[1] -eq 0xFE -and $Bytes[2] -eq 0xBA -and $Bytes[3] -eq 0xBE) {
        # Universal binary: big-endian header, then 20-byte fat_arch records.
        $readBigEndian = { param([int] $offset) ([uint32]$Bytes[$offset] -shl 24) -bor ([uint32]$Bytes[$offset + 1] -shl 16) -bor ([uint32]$Bytes[$offset + 2] -shl 8) -bor [uint32]$Bytes[$offset + 3] }
        $count = & $readBigEndian 4
        $archs = for ($i = 0; $i -lt $count -and (8 + 20 * $i + 4) -le $Bytes.Length; $i++) { & $cpuName (& $readBigEndian (8 + 20 * $i)) }
        return ($archs -join ',')
    }
    'unknown (not a PE, ELF or Mach-O file)'
}

# Read the package's entries: relative path (forward slashes) -> a way to get the first bytes.
$resolved = (Resolve-Path -LiteralPath $Path).ProviderPath
$entries = @{}
$zip = $null
try {
    if (Test-Path -LiteralPath $resolved -PathType Container) {
        foreach ($file in Get-ChildItem -LiteralPath $resolved -Recurse -File) {
            $relative = $file.FullName.Substring($resolved.TrimEnd('\', '/').Length + 1).Replace('\', '/')
            $entries[$relative] = $file
        }
    }
    else {
        Add-Type -AssemblyName System.IO.Compression, System.IO.Compression.FileSystem
        $zip = [System.IO.Compression.ZipFile]::OpenRead($resolved)
        foreach ($entry in $zip.Entries) {
            if ($entry.FullName.EndsWith('/')) { continue }
            # NuGet escapes some characters in entry names; module files here have none.
            $entries[[System.Uri]::UnescapeDataString($entry.FullName.Replace('\', '/'))] = $entry
        }
    }

    function Read-EntryBytes($Item, [int] $Count) {
        <#
        .SYNOPSIS
            The first $Count bytes of a package entry or a file.
        #>
        $stream = if ($Item -is [System.IO.FileInfo]) { $Item.OpenRead() } else { $Item.Open() }
        try {
            $buffer = New-Object byte[] $Count
            $total = 0
            while ($total -lt $Count) {
                $read = $stream.Read($buffer, $total, $Count - $total)
                if ($read -le 0) { break }
                $total += $read
            }
            if ($total -lt $Count) { $buffer = $buffer[0..([Math]::Max(0, $total - 1))] }
            , [byte[]]$buffer
        }
        finally { $stream.Dispose() }
    }

    # The manifest: <Name>.psd1 at the root (nupkg, module folder) or <Name>/<Name>.psd1 (Automation zip).
    $manifestKey = @($entries.Keys | Where-Object { $_ -match '^(?:([^/]+)/)?([^/]+)\.psd1$' -and (-not $Matches[1] -or $Matches[1] -eq $Matches[2]) }) | Select-Object -First 1
    if (-not $manifestKey) { throw "No module manifest (<Name>.psd1 at the top, or <Name>/<Name>.psd1) in '$resolved'." }
    $prefix = if ($manifestKey.Contains('/')) { $manifestKey.Substring(0, $manifestKey.IndexOf('/') + 1) } else { '' }

    if (-not $Rid) {
        $manifestBytes = Read-EntryBytes $entries[$manifestKey] 1048576
        $temp = Join-Path ([System.IO.Path]::GetTempPath()) ("pumfa-manifest-" + [guid]::NewGuid().ToString('n') + '.psd1')
        [System.IO.File]::WriteAllBytes($temp, $manifestBytes)
        try { $manifest = Import-PowerShellDataFile -LiteralPath $temp } finally { Remove-Item -LiteralPath $temp -ErrorAction SilentlyContinue }
        $promised = $null
        if ($manifest.ContainsKey('PrivateData') -and $manifest.PrivateData -and $manifest.PrivateData.ContainsKey('PerUserMfa')) {
            $promised = $manifest.PrivateData.PerUserMfa.SupportedRids
        }
        if (-not $promised) { throw "The manifest $manifestKey has no PrivateData.PerUserMfa.SupportedRids." }
        $Rid = @($promised)
    }

    $results = foreach ($runtimeId in $Rid) {
        $expectedArch = $runtimeId.Substring($runtimeId.IndexOf('-') + 1)
        $key = "${prefix}runtimes/$runtimeId/native/$(Get-EngineFileName $runtimeId)"
        $present = $entries.ContainsKey($key)
        $architecture = $null
        $problem = $null
        if (-not $present) {
            $problem = "missing: $key"
        }
        else {
            $architecture = Get-BinaryArchitecture (Read-EntryBytes $entries[$key] 4096)
            if (($architecture -split ',') -notcontains $expectedArch) {
                $problem = "$key is built for $architecture, not $expectedArch"
            }
        }
        [pscustomobject]@{
            PSTypeName   = 'PerUserMfa.Build.RidCheck'
            Rid          = $runtimeId
            Present      = $present
            Architecture = $architecture
            Entry        = $key
            Problem      = $problem
        }
    }
}
finally {
    if ($zip) { $zip.Dispose() }
}

$results
$bad = @($results | Where-Object Problem)
foreach ($result in $results) {
    $line = if ($result.Problem) { "  $($result.Rid): $($result.Problem)" } else { "  $($result.Rid): ok ($($result.Architecture))" }
    Write-Verbose $line
}
if ($bad) {
    $message = "$([System.IO.Path]::GetFileName($resolved)) lacks a usable native engine for: $(($bad | ForEach-Object Rid) -join ', ') ($(($bad | ForEach-Object Problem) -join '; '))."
    if ($AllowMissing) { Write-Warning $message }
    else { throw $message }
}
else {
    Write-Verbose "$([System.IO.Path]::GetFileName($resolved)): every promised RID is present ($($Rid -join ', '))."
}
