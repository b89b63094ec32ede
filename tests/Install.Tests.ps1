#Requires -Modules Pester
<#
    The package as users get it: the .nupkg's contents against an explicit list, the RID check
    the release runs before publishing, Install-PSResource from a local repository into an empty
    module folder, then a fresh PowerShell that imports the module by name only (its module path
    is that folder plus $PSHOME/Modules) and reads the Graph simulator. The installed package, not
    the build folder, is what runs. Also the Azure Automation zip.

    The package comes from $env:PUMFA_TEST_PACKAGE (build.ps1 Test runs Package first; the release
    workflow passes the package it assembled). Without it, the module under test is packed here
    with build/New-ModulePackage.ps1, the script build.ps1 Package runs. Likewise the zip comes
    from $env:PUMFA_TEST_AUTOMATION_ZIP or build/New-AutomationZip.ps1.
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Add-Type -AssemblyName System.IO.Compression, System.IO.Compression.FileSystem
    $script:repoRoot = Split-Path $PSScriptRoot
    $script:moduleManifest = $env:PUMFA_TEST_MODULE
    $script:moduleDir = Split-Path $moduleManifest
    $script:manifest = Import-PowerShellDataFile $moduleManifest
    $script:moduleName = [System.IO.Path]::GetFileNameWithoutExtension($moduleManifest)
    $script:fullVersion = Get-ModuleFullVersion $moduleManifest
    $script:supportedRids = @($manifest.PrivateData.PerUserMfa.SupportedRids)
    $script:work = Join-Path ([System.IO.Path]::GetTempPath()) ('pumfa-install-' + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory -Force $work

    $script:package = $env:PUMFA_TEST_PACKAGE
    if (-not $package) {
        $packed = Invoke-FreshPowerShell -File (Join-Path $repoRoot 'build/New-ModulePackage.ps1') -Arguments @('-ModuleDirectory', $moduleDir, '-OutputDirectory', (Join-Path $work 'packed'))
        if ($packed.ExitCode -ne 0) { throw "Packing the module failed: $($packed.Errors)" }
        $script:package = Join-Path $work "packed/$moduleName.$fullVersion.nupkg"
    }
    $script:automationZip = $env:PUMFA_TEST_AUTOMATION_ZIP
    if (-not $automationZip) {
        $zipped = Invoke-FreshPowerShell -File (Join-Path $repoRoot 'build/New-AutomationZip.ps1') -Arguments @('-ModuleDirectory', $moduleDir, '-DestinationPath', (Join-Path $work "zip/$moduleName.zip"))
        if ($zipped.ExitCode -ne 0) { throw "Making the Automation zip failed: $($zipped.Errors)" }
        $script:automationZip = Join-Path $work "zip/$moduleName.zip"
    }

    function script:Get-ZipEntryName([string] $Path) {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Path)
        try { @($zip.Entries | Where-Object { -not $_.FullName.EndsWith('/') } | ForEach-Object { [System.Uri]::UnescapeDataString($_.FullName.Replace('\', '/')) }) }
        finally { $zip.Dispose() }
    }

    # What ships, derived from the manifest and docs/help: adding a file to the module means
    # naming it here (or in the manifest), so nothing slips into the package by accident.
    function script:Get-ExpectedModuleFile([string[]] $Rids) {
        $files = @("$moduleName.psd1", $manifest.RootModule, 'LICENSE.txt', "en-US/$($manifest.RootModule)-Help.xml")
        foreach ($key in 'FormatsToProcess', 'TypesToProcess', 'NestedModules', 'ScriptsToProcess') {
            if ($manifest.ContainsKey($key)) { $files += @($manifest[$key]) }
        }
        $files += @(Get-ChildItem (Join-Path $repoRoot 'docs/help') -Filter 'about_*.md' | ForEach-Object { "en-US/$($_.BaseName).help.txt" })
        $files += @($Rids | ForEach-Object { "runtimes/$_/native/$(Get-EngineFileName $_)" })
        @($files | Sort-Object -Unique)
    }

    $script:entries = Get-ZipEntryName $package
    $script:packageRids = @($entries | Where-Object { $_ -match '^runtimes/([^/]+)/native/' } | ForEach-Object { ($_ -split '/')[1] } | Sort-Object -Unique)
}

AfterAll {
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The package' {
    It 'is named after the module and its full version (Name.Version.nupkg)' {
        [System.IO.Path]::GetFileName($package) | Should -Be "$moduleName.$fullVersion.nupkg"
    }

    It 'holds exactly the files that ship, and NuGet''s own metadata' {
        $nugetMetadata = @('[Content_Types].xml', '_rels/.rels', "$moduleName.nuspec")
        $moduleFiles = @($entries | Where-Object { $nugetMetadata -notcontains $_ -and $_ -notlike 'package/services/metadata/core-properties/*.psmdcp' } | Sort-Object)
        $moduleFiles | Should -Be (Get-ExpectedModuleFile $packageRids)
        foreach ($name in $nugetMetadata) { $entries | Should -Contain $name }
        @($entries | Where-Object { $_ -match '\.(pdb|md|Tests\.ps1)$' -or $_ -like 'tests/*' }) | Should -BeNullOrEmpty
    }

    It 'ships the native engine for this platform, and only for RIDs the manifest promises' {
        $packageRids | Should -Contain (Get-HostRid)
        foreach ($rid in $packageRids) { $supportedRids | Should -Contain $rid }
    }

    It 'describes the module in its nuspec as the Gallery shows it' {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($package)
        try {
            $reader = [System.IO.StreamReader]::new($zip.GetEntry("$moduleName.nuspec").Open())
            [xml] $nuspec = $reader.ReadToEnd()
            $reader.Dispose()
        }
        finally { $zip.Dispose() }
        $metadata = $nuspec.package.metadata
        $metadata.id | Should -Be $moduleName
        $metadata.version | Should -Be $fullVersion
        $metadata.licenseUrl | Should -Be $manifest.PrivateData.PSData.LicenseUri
        $metadata.projectUrl | Should -Be $manifest.PrivateData.PSData.ProjectUri
        $metadata.releaseNotes | Should -Not -BeNullOrEmpty
        $tags = $metadata.tags -split ' '
        foreach ($tag in 'PSModule', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS') { $tags | Should -Contain $tag }
    }

    It 'passes build/Test-PackageRids.ps1 for the RIDs it has and fails it for the ones it lacks' {
        $script = Join-Path $repoRoot 'build/Test-PackageRids.ps1'
        $report = & $script -Path $package -AllowMissing -WarningAction SilentlyContinue
        ($report.Rid | Sort-Object) | Should -Be ($supportedRids | Sort-Object)
        $hostRow = $report | Where-Object Rid -EQ (Get-HostRid)
        $hostRow.Present | Should -BeTrue
        $hostRow.Problem | Should -BeNullOrEmpty
        $hostRow.Architecture | Should -Be ((Get-HostRid) -split '-')[1]
        $missing = @($supportedRids | Where-Object { $packageRids -notcontains $_ })
        foreach ($rid in $missing) {
            ($report | Where-Object Rid -EQ $rid).Present | Should -BeFalse
        }
        if ($missing) {
            { & $script -Path $package } | Should -Throw -ExpectedMessage "*lacks a usable native engine for: $($missing -join ', ')*"
        }
        else {
            { & $script -Path $package } | Should -Not -Throw
        }
        { & $script -Path $package -Rid (Get-HostRid) } | Should -Not -Throw
    }
}

Describe 'build/Test-PackageRids.ps1' {
    BeforeAll {
        # A fake module folder whose engine files are only headers: PE, ELF, Mach-O and a universal Mach-O.
        function script:New-FakeEngine([string] $Path, [byte[]] $Header) {
            $null = New-Item -ItemType Directory -Force (Split-Path $Path)
            $bytes = New-Object byte[] 4096
            [Array]::Copy($Header, $bytes, $Header.Length)
            [System.IO.File]::WriteAllBytes($Path, $bytes)
        }
        function script:New-PeHeader([uint16] $Machine) {
            $bytes = New-Object byte[] 0x90
            $bytes[0] = 0x4D; $bytes[1] = 0x5A; $bytes[0x3C] = 0x80
            $bytes[0x80] = 0x50; $bytes[0x81] = 0x45
            [Array]::Copy([System.BitConverter]::GetBytes($Machine), 0, $bytes, 0x84, 2)
            , $bytes
        }
        function script:New-ElfHeader([uint16] $Machine) {
            $bytes = New-Object byte[] 64
            $bytes[0] = 0x7F; $bytes[1] = 0x45; $bytes[2] = 0x4C; $bytes[3] = 0x46; $bytes[4] = 2; $bytes[5] = 1
            [Array]::Copy([System.BitConverter]::GetBytes($Machine), 0, $bytes, 18, 2)
            , $bytes
        }
        function script:New-MachOHeader([uint32] $Cpu) {
            $bytes = New-Object byte[] 64
            $bytes[0] = 0xCF; $bytes[1] = 0xFA; $bytes[2] = 0xED; $bytes[3] = 0xFE
            [Array]::Copy([System.BitConverter]::GetBytes($Cpu), 0, $bytes, 4, 4)
            , $bytes
        }
        function script:New-UniversalHeader {
            # Big-endian fat header with two fat_arch records: x86_64 and arm64.
            $bytes = New-Object byte[] 64
            $bytes[0] = 0xCA; $bytes[1] = 0xFE; $bytes[2] = 0xBA; $bytes[3] = 0xBE; $bytes[7] = 2
            $bytes[8] = 0x01; $bytes[11] = 0x07
            $bytes[28] = 0x01; $bytes[31] = 0x0C
            , $bytes
        }
        $script:fake = Join-Path $TestDrive 'PerUserMfa'
        $null = New-Item -ItemType Directory -Force $fake
        Copy-Item $moduleManifest $fake
        New-FakeEngine "$fake/runtimes/win-x64/native/perusermfa_engine.dll" (New-PeHeader 0x8664)
        New-FakeEngine "$fake/runtimes/win-arm64/native/perusermfa_engine.dll" (New-PeHeader 0xAA64)
        New-FakeEngine "$fake/runtimes/linux-x64/native/libperusermfa_engine.so" (New-ElfHeader 0x3E)
        New-FakeEngine "$fake/runtimes/linux-arm64/native/libperusermfa_engine.so" (New-ElfHeader 0x3E)   # wrong: an x64 build
        New-FakeEngine "$fake/runtimes/osx-x64/native/libperusermfa_engine.dylib" (New-UniversalHeader)
        New-FakeEngine "$fake/runtimes/osx-arm64/native/libperusermfa_engine.dylib" (New-MachOHeader 0x0100000C)
        $script:checker = Join-Path $repoRoot 'build/Test-PackageRids.ps1'
    }

    It 'reads the processor of PE, ELF, Mach-O and universal binaries' {
        $report = & $checker -Path $fake -AllowMissing -WarningAction SilentlyContinue
        ($report | Where-Object Rid -EQ 'win-x64').Architecture | Should -Be 'x64'
        ($report | Where-Object Rid -EQ 'win-arm64').Architecture | Should -Be 'arm64'
        ($report | Where-Object Rid -EQ 'linux-x64').Architecture | Should -Be 'x64'
        ($report | Where-Object Rid -EQ 'osx-x64').Architecture | Should -Be 'x64,arm64'
        ($report | Where-Object Rid -EQ 'osx-arm64').Architecture | Should -Be 'arm64'
        @($report | Where-Object Problem).Rid | Should -Be @('linux-arm64')
    }

    It 'refuses an engine built for the wrong processor' {
        { & $checker -Path $fake } | Should -Throw -ExpectedMessage '*linux-arm64*built for x64, not arm64*'
        { & $checker -Path $fake -Rid 'win-x64', 'osx-arm64' } | Should -Not -Throw
    }
}

Describe 'Install-PSResource from a local repository' {
    BeforeAll {
        $script:sim = Start-GraphSim -Users 120 -Seed 5
        $repository = New-Item -ItemType Directory -Force (Join-Path $work 'repository')
        Copy-Item $package $repository

        # Install in a fresh PowerShell. On Linux and macOS Install-PSResource -Scope CurrentUser
        # goes to a throwaway home; on Windows, whose CurrentUser folder cannot be redirected,
        # Save-PSResource -Path puts the same files into the throwaway folder.
        $script:fakeHome = Join-Path $work 'home'
        $script:modules = Join-Path $work 'modules'
        $null = New-Item -ItemType Directory -Force $fakeHome, $modules
        $installScript = Join-Path $work 'install.ps1'
        Set-Content -LiteralPath $installScript -Encoding UTF8 -Value @'
param([string] $Repository, [string] $Modules, [string] $Name)
$ErrorActionPreference = 'Stop'
$repositoryName = 'PerUserMfaInstallTest' + [guid]::NewGuid().ToString('n').Substring(0, 8)
Register-PSResourceRepository -Name $repositoryName -Uri $Repository -Trusted
try {
    $onWindows = $PSVersionTable.PSEdition -eq 'Desktop' -or $IsWindows
    if ($onWindows) {
        Save-PSResource -Name $Name -Repository $repositoryName -Path $Modules -Prerelease -TrustRepository
        $location = $Modules
    }
    else {
        Install-PSResource -Name $Name -Repository $repositoryName -Scope CurrentUser -Prerelease -TrustRepository
        $location = @(Get-InstalledPSResource -Name $Name -Scope CurrentUser)[0].InstalledLocation
    }
    # The folder that holds <Name>/<version>/: what goes on PSModulePath.
    while ($location -and -not (Test-Path (Join-Path $location $Name))) { $location = Split-Path $location }
    $location
}
finally {
    Unregister-PSResourceRepository -Name $repositoryName
}
'@
        $environment = @{ HOME = $fakeHome; XDG_DATA_HOME = (Join-Path $fakeHome '.local/share'); XDG_CONFIG_HOME = (Join-Path $fakeHome '.config'); XDG_CACHE_HOME = (Join-Path $fakeHome '.cache') }
        # .NET returns an empty LocalApplicationData for a folder that does not exist, and
        # PSResourceGet would then keep its settings under the current directory.
        foreach ($folder in '.local/share', '.config', '.cache', 'Library/Application Support') { $null = New-Item -ItemType Directory -Force (Join-Path $fakeHome $folder) }
        if ([System.Runtime.InteropServices.RuntimeInformation]::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::Windows)) { $environment = @{} }
        $script:install = Invoke-FreshPowerShell -File $installScript -Arguments @($repository.FullName, $modules, $moduleName) -Environment $environment
        $script:installedModules = @($install.Output)[-1]
    }
    AfterAll {
        Stop-GraphSim $sim
    }

    It 'installs from the repository' {
        $install.ExitCode | Should -Be 0 -Because $install.Errors
        $installedModules | Should -BeLike "$work*"
        Test-Path (Join-Path $installedModules "$moduleName/$($manifest.ModuleVersion)/$moduleName.psd1") | Should -BeTrue
    }

    It 'installs the files of the package, the native engine included' {
        $installedDir = Join-Path $installedModules "$moduleName/$($manifest.ModuleVersion)"
        $installed = @(Get-ChildItem $installedDir -Recurse -File | ForEach-Object { $_.FullName.Substring($installedDir.Length + 1).Replace('\', '/') })
        foreach ($file in Get-ExpectedModuleFile $packageRids) { $installed | Should -Contain $file }
        # PSResourceGet adds its own record of the installation, nothing else.
        @($installed | Where-Object { (Get-ExpectedModuleFile $packageRids) -notcontains $_ -and $_ -notin @('PSGetModuleInfo.xml', "$moduleName.nuspec") }) | Should -BeNullOrEmpty
    }

    It 'imports by name in a fresh PowerShell and reads every user of the simulator' {
        $probe = Join-Path $work 'probe.ps1'
        Set-Content -LiteralPath $probe -Encoding UTF8 -Value @'
param([string] $Modules, [string] $GraphEndpoint)
$ErrorActionPreference = 'Stop'
$env:PSModulePath = $Modules + [System.IO.Path]::PathSeparator + (Join-Path $PSHOME 'Modules')
Import-Module PerUserMfa
$module = Get-Module PerUserMfa
Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $env:PUMFA_PROBE_TOKEN -AsPlainText -Force) -GraphEndpoint $GraphEndpoint
$users = @(Get-PerUserMfaState -All)
Disconnect-PerUserMfa
[pscustomobject]@{
    ModuleBase = $module.ModuleBase
    Version    = [string]$module.Version
    Cmdlets    = @($module.ExportedCmdlets.Keys | Sort-Object)
    Count      = $users.Count
    TypeName   = $users[0].PSObject.TypeNames[0]
    Synopsis   = (Get-Help Get-PerUserMfaState).Synopsis
} | ConvertTo-Json -Compress
'@
        $token = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
        $run = Invoke-FreshPowerShell -File $probe -Arguments @($installedModules, $sim.Url) -Environment @{ PUMFA_PROBE_TOKEN = $token }
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        $result = @($run.Output)[-1] | ConvertFrom-Json
        $result.ModuleBase | Should -BeLike "$installedModules*"
        $result.Version | Should -Be $manifest.ModuleVersion
        $result.Cmdlets | Should -Be @($manifest.CmdletsToExport | Sort-Object)
        $result.Count | Should -Be $sim.Users
        $result.TypeName | Should -Be 'PerUserMfa.UserState'
        $result.Synopsis | Should -BeLike '*per-user MFA state*'
    }
}

Describe 'The Azure Automation zip' {
    It 'is named after the module, holds one folder of that name with the manifest, and is under 100 MB' {
        [System.IO.Path]::GetFileName($automationZip) | Should -Be "$moduleName.zip"
        (Get-Item $automationZip).Length | Should -BeLessThan 100MB
        $zipEntries = Get-ZipEntryName $automationZip
        @($zipEntries | ForEach-Object { ($_ -split '/')[0] } | Sort-Object -Unique) | Should -Be @($moduleName)
        $zipEntries | Should -Contain "$moduleName/$moduleName.psd1"
    }

    It 'holds the module exactly as the package does, without a version folder' {
        $zipEntries = @(Get-ZipEntryName $automationZip | ForEach-Object { $_.Substring($moduleName.Length + 1) } | Sort-Object)
        $zipRids = @($zipEntries | Where-Object { $_ -match '^runtimes/([^/]+)/native/' } | ForEach-Object { ($_ -split '/')[1] } | Sort-Object -Unique)
        $zipEntries | Should -Be (Get-ExpectedModuleFile $zipRids)
        $zipRids | Should -Be $packageRids
    }
}
