<#
.SYNOPSIS
    Packs a built module folder into <Name>.<Version>.nupkg with Publish-PSResource, through a
    temporary local file repository (the package the PowerShell Gallery receives is made the same
    way).

.DESCRIPTION
    build.ps1 Package runs this on out/PerUserMfa/<version>/; tests/Install.Tests.ps1 runs it on
    the module under test when no package was handed to it. The repository is registered under a
    unique name and unregistered again, so concurrent runs do not collide. Writes the .nupkg's
    FileInfo.

    Runs on Windows PowerShell 5.1 (with Microsoft.PowerShell.PSResourceGet installed) and
    PowerShell 7.4+.
#>
[CmdletBinding()]
param(
    # The module folder: <Name>.psd1 and everything that ships, nothing else.
    [Parameter(Mandatory)] [string] $ModuleDirectory,
    # Where the .nupkg goes (created if needed); an older package of the same version is replaced.
    [Parameter(Mandatory)] [string] $OutputDirectory
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module Microsoft.PowerShell.PSResourceGet -MinimumVersion 1.0.0

$moduleDirectory = (Resolve-Path -LiteralPath $ModuleDirectory).ProviderPath
$manifestFile = @(Get-ChildItem -LiteralPath $moduleDirectory -Filter '*.psd1')
if ($manifestFile.Count -ne 1) { throw "Expected exactly one module manifest in '$moduleDirectory'." }
$name = $manifestFile[0].BaseName
$manifest = Import-PowerShellDataFile -LiteralPath $manifestFile[0].FullName
$version = $manifest.ModuleVersion
if ($manifest.PrivateData.PSData.ContainsKey('Prerelease') -and $manifest.PrivateData.PSData.Prerelease) {
    $version = "$version-$($manifest.PrivateData.PSData.Prerelease)"
}

$output = New-Item -ItemType Directory -Force $OutputDirectory
$packageFile = Join-Path $output.FullName "$name.$version.nupkg"
Remove-Item -LiteralPath $packageFile -ErrorAction SilentlyContinue

# Publish-PSResource packs the folder named after the module, as it is.
$staging = Join-Path ([System.IO.Path]::GetTempPath()) ('pumfa-pack-' + [guid]::NewGuid().ToString('n'))
$repository = Join-Path $staging 'repo'
$null = New-Item -ItemType Directory -Force $repository
$repositoryName = 'PerUserMfaPack' + [guid]::NewGuid().ToString('n').Substring(0, 12)
Register-PSResourceRepository -Name $repositoryName -Uri $repository -Trusted
try {
    Publish-PSResource -Path $moduleDirectory -Repository $repositoryName
    $built = Get-ChildItem -LiteralPath $repository -Filter "$name.*.nupkg" | Select-Object -First 1
    if (-not $built) { throw "Publish-PSResource wrote no package to $repository." }
    if ($built.Name -ne "$name.$version.nupkg") { throw "Publish-PSResource wrote $($built.Name); expected $name.$version.nupkg." }
    Move-Item -LiteralPath $built.FullName -Destination $packageFile
}
finally {
    Unregister-PSResourceRepository -Name $repositoryName -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $staging -Recurse -Force -ErrorAction SilentlyContinue
}
Get-Item -LiteralPath $packageFile
