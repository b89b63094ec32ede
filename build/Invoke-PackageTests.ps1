<#
.SYNOPSIS
    Runs the Pester suite against a PerUserMfa package the way users get it: the .nupkg is
    installed from a local repository into an empty folder, and the tests import that copy.

.DESCRIPTION
    The release workflow runs this on every test runner (Windows PowerShell 5.1, and PowerShell
    7.4 and 7.6 on Windows, Linux and macOS) with the package it assembled. It works the same locally:

        dotnet pwsh ./build/Invoke-PackageTests.ps1 -PackagePath out/repo/PerUserMfa.0.1.0.nupkg `
            -AutomationZip out/PerUserMfa.zip -SimulatorPath target/release/graph-sim `
            -PesterManifest ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1

    Without -PesterManifest, Pester 5.7.1 is saved from the PowerShell Gallery. On Windows
    PowerShell 5.1, Microsoft.PowerShell.PSResourceGet is downloaded from the Gallery first (5.1 does
    not ship it), as its own package over TLS 1.2: the NuGet provider that PowerShellGet 1.0
    needs first is not required. Exits with the Pester suite's exit code.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PackagePath,
    [Parameter(Mandatory)] [string] $AutomationZip,
    [Parameter(Mandatory)] [string] $SimulatorPath,
    [string] $PesterManifest,
    [string] $Filter = '*',
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) ('pumfa-package-tests-' + [guid]::NewGuid().ToString('n')))
)
$ErrorActionPreference = 'Stop'
$PSVersionTable | Out-Host
$PackagePath = (Resolve-Path -LiteralPath $PackagePath).ProviderPath
$AutomationZip = (Resolve-Path -LiteralPath $AutomationZip).ProviderPath
$SimulatorPath = (Resolve-Path -LiteralPath $SimulatorPath).ProviderPath

$tools = Join-Path $WorkDirectory 'tools'
$repository = Join-Path $WorkDirectory 'repository'
$modules = Join-Path $WorkDirectory 'modules'
$null = New-Item -ItemType Directory -Force $tools, $repository, $modules
$env:PSModulePath = $tools + [System.IO.Path]::PathSeparator + $env:PSModulePath

if ($PSVersionTable.PSEdition -eq 'Desktop' -and -not (Get-Module -ListAvailable Microsoft.PowerShell.PSResourceGet)) {
    # Windows PowerShell 5.1 ships no PSResourceGet. Its PowerShellGet 1.0 would first need the
    # NuGet provider (Install-PackageProvider), whose download site has failed for everyone more
    # than once; so take PSResourceGet's own package straight from the Gallery (a .nupkg is a
    # zip whose root is the module) over TLS 1.2, which 5.1 does not offer by default.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    $psResourceGetVersion = '1.2.1'
    $download = Join-Path $WorkDirectory "Microsoft.PowerShell.PSResourceGet.$psResourceGetVersion.zip"
    Invoke-WebRequest -UseBasicParsing -OutFile $download `
        -Uri "https://www.powershellgallery.com/api/v2/package/Microsoft.PowerShell.PSResourceGet/$psResourceGetVersion"
    Expand-Archive -LiteralPath $download -DestinationPath (Join-Path $tools "Microsoft.PowerShell.PSResourceGet/$psResourceGetVersion") -Force
}
Import-Module Microsoft.PowerShell.PSResourceGet

if (-not $PesterManifest) {
    Save-PSResource -Name Pester -Version 5.7.1 -Path $tools -Repository PSGallery -TrustRepository
    $PesterManifest = Join-Path $tools 'Pester/5.7.1/Pester.psd1'
}

# Install the package under test from a local repository into the empty folder.
Copy-Item -LiteralPath $PackagePath $repository
$repositoryName = 'PerUserMfaPackageTests' + [guid]::NewGuid().ToString('n').Substring(0, 8)
Register-PSResourceRepository -Name $repositoryName -Uri $repository -Trusted
try {
    Save-PSResource -Name PerUserMfa -Repository $repositoryName -Path $modules -Prerelease -TrustRepository
}
finally {
    Unregister-PSResourceRepository -Name $repositoryName
}
$manifest = Get-ChildItem (Join-Path $modules 'PerUserMfa') -Recurse -Filter 'PerUserMfa.psd1' | Select-Object -First 1
if (-not $manifest) { throw "Installing $PackagePath put no PerUserMfa.psd1 under $modules." }
Write-Host "Testing the installed module at $($manifest.DirectoryName)"

$env:PUMFA_TEST_PACKAGE = $PackagePath
$env:PUMFA_TEST_AUTOMATION_ZIP = $AutomationZip
& (Join-Path $PSScriptRoot '../tests/Invoke-PesterSuite.ps1') -PesterManifest $PesterManifest -ModuleManifest $manifest.FullName `
    -SimulatorPath $SimulatorPath -ResultFile (Join-Path $WorkDirectory 'pester.json') -Filter $Filter
exit $LASTEXITCODE
