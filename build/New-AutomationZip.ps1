<#
.SYNOPSIS
    Makes the zip that Azure Automation imports: <Name>.zip holding the folder <Name>/ with
    <Name>.psd1 and the rest of the module (no version folder).

.DESCRIPTION
    Azure Automation requires the zip's name, its top folder and the manifest to share the
    module's name, and a module of at most 100 MB. Its cloud sandboxes run Windows Server
    (x64), so the module is usable there only with the win-x64 engine: the script warns when
    runtimes/win-x64 is missing (a local build on Linux or macOS) and the release workflow checks
    it with build/Test-PackageRids.ps1 -Rid win-x64.

    Runs on Windows PowerShell 5.1 and PowerShell 7. Writes the zip's FileInfo.
#>
[CmdletBinding()]
param(
    # The built module folder (out/PerUserMfa/<version>).
    [Parameter(Mandatory)] [string] $ModuleDirectory,
    # The zip to write; its file name must be <module name>.zip.
    [Parameter(Mandatory)] [string] $DestinationPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Add-Type -AssemblyName System.IO.Compression, System.IO.Compression.FileSystem

$limit = 100MB
$moduleDirectory = (Resolve-Path -LiteralPath $ModuleDirectory).ProviderPath.TrimEnd('\', '/')
$manifestFile = @(Get-ChildItem -LiteralPath $moduleDirectory -Filter '*.psd1')
if ($manifestFile.Count -ne 1) { throw "Expected exactly one module manifest in '$moduleDirectory'." }
$name = $manifestFile[0].BaseName
if ([System.IO.Path]::GetFileName($DestinationPath) -ne "$name.zip") {
    throw "Azure Automation needs the zip named after the module: $name.zip, not $([System.IO.Path]::GetFileName($DestinationPath))."
}
if (-not (Test-Path -LiteralPath (Join-Path $moduleDirectory 'runtimes/win-x64/native'))) {
    Write-Warning "$name has no win-x64 engine: Azure Automation's cloud sandbox (Windows, x64) cannot run this zip. Release builds include it."
}

$destination = [System.IO.Path]::GetFullPath($DestinationPath)
$null = New-Item -ItemType Directory -Force (Split-Path $destination)
Remove-Item -LiteralPath $destination -ErrorAction SilentlyContinue
$zip = [System.IO.Compression.ZipFile]::Open($destination, [System.IO.Compression.ZipArchiveMode]::Create)
try {
    foreach ($file in Get-ChildItem -LiteralPath $moduleDirectory -Recurse -File) {
        # Forward slashes, whatever the OS: entry names are the zip's own format.
        $relative = $file.FullName.Substring($moduleDirectory.Length + 1).Replace('\', '/')
        $null = [System.IO.Compression.ZipFileExtensions]::CreateEntryFromFile($zip, $file.FullName, "$name/$relative", [System.IO.Compression.CompressionLevel]::Optimal)
    }
}
finally {
    $zip.Dispose()
}
$result = Get-Item -LiteralPath $destination
if ($result.Length -gt $limit) {
    throw "$($result.Name) is $([math]::Round($result.Length / 1MB, 1)) MB; Azure Automation accepts at most 100 MB per module."
}
$result
