#Requires -Modules Pester
<#
    What a PowerShell Gallery release needs from the module under test: the manifest, one version
    everywhere (Cargo.toml, manifest, assembly, engine), re-import with -Force, a type name and a
    format view for every object a cmdlet emits, and script files that Windows PowerShell 5.1 reads
    correctly. Generic over the exported cmdlets.
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:repoRoot = Split-Path $PSScriptRoot
    $script:moduleDir = Split-Path $env:PUMFA_TEST_MODULE
    $script:manifest = Import-PowerShellDataFile $env:PUMFA_TEST_MODULE
    $script:module = Get-Module PerUserMfa
    $script:assembly = (Get-Command Connect-PerUserMfa).ImplementingType.Assembly
    $script:sim = Start-GraphSim -Users 60 -Seed 3
    $script:token = New-SimToken -Sim $sim -Roles (Get-WriteRoles)
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'The manifest' {
    It 'passes Test-ModuleManifest' {
        { Test-ModuleManifest $env:PUMFA_TEST_MODULE -ErrorAction Stop } | Should -Not -Throw
    }

    It 'exports an explicit list that is exactly the cmdlets the module has' {
        foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'AliasesToExport', 'VariablesToExport') {
            $manifest.ContainsKey($key) | Should -BeTrue -Because "$key must be explicit (an absent key exports everything)"
            @($manifest[$key]) -join ',' | Should -Not -Match '\*' -Because "$key may not use wildcards"
        }
        @($manifest.CmdletsToExport | Sort-Object) | Should -Be @(Get-Command -Module PerUserMfa -CommandType Cmdlet | ForEach-Object Name | Sort-Object)
        $binaryCmdlets = @($assembly.GetExportedTypes() | Where-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) })
        @($binaryCmdlets | ForEach-Object {
                $attribute = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
                "$($attribute.VerbName)-$($attribute.NounName)"
            } | Sort-Object) | Should -Be @($manifest.CmdletsToExport | Sort-Object) -Because 'every cmdlet class in the assembly is exported'
    }

    It 'runs on Windows PowerShell 5.1 and PowerShell 7 (Desktop and Core)' {
        $manifest.PowerShellVersion | Should -Be '5.1'
        @($manifest.CompatiblePSEditions | Sort-Object) | Should -Be @('Core', 'Desktop')
    }

    It 'names the .NET Framework it needs on Windows PowerShell 5.1 (4.7.2)' {
        $manifest.DotNetFrameworkVersion | Should -Be '4.7.2'
    }

    It 'has as ReleaseNotes the CHANGELOG.md section of its version (Unreleased between releases)' {
        Import-Module (Join-Path $repoRoot 'build/Changelog.psm1') -Force
        $expected = Get-ReleaseNote -Path (Join-Path $repoRoot 'CHANGELOG.md') -Version (Get-CargoVersion)
        $manifest.PrivateData.PSData.ReleaseNotes | Should -BeLike "$([WildcardPattern]::Escape($expected))*CHANGELOG.md"
    }

    It 'has the Gallery metadata' {
        $psData = $manifest.PrivateData.PSData
        foreach ($tag in 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS', 'Entra', 'MFA', 'Graph') {
            $psData.Tags | Should -Contain $tag
        }
        $psData.ProjectUri | Should -Match '^https://'
        $psData.LicenseUri | Should -Match '^https://.*/LICENSE$'
        $psData.ReleaseNotes | Should -Not -BeNullOrEmpty
        $manifest.Description | Should -Not -BeNullOrEmpty
        $manifest.Author | Should -Not -BeNullOrEmpty
    }

    It 'ships an MIT license' {
        Get-Content (Join-Path $repoRoot 'LICENSE') -Raw | Should -Match '^MIT License'
        Get-Content (Join-Path $moduleDir 'LICENSE.txt') -Raw | Should -Be (Get-Content (Join-Path $repoRoot 'LICENSE') -Raw)
    }

    It 'promises the six RIDs the release builds' {
        @($manifest.PrivateData.PerUserMfa.SupportedRids | Sort-Object) |
            Should -Be @('linux-arm64', 'linux-x64', 'osx-arm64', 'osx-x64', 'win-arm64', 'win-x64')
    }
}

Describe 'CHANGELOG.md' {
    BeforeAll {
        Import-Module (Join-Path $repoRoot 'build/Changelog.psm1') -Force
        function script:Read-SampleChangelog([string] $Text) {
            $path = Join-Path $TestDrive ('changelog-' + [guid]::NewGuid().ToString('n') + '.md')
            [System.IO.File]::WriteAllText($path, $Text)
            Read-Changelog -Path $path
        }
    }

    It 'keeps the Keep a Changelog shape: Unreleased first, then releases newest first' {
        $sections = @(Read-Changelog -Path (Join-Path $repoRoot 'CHANGELOG.md'))
        $sections[0].Version | Should -Be 'Unreleased'
        $released = @($sections | Select-Object -Skip 1 | ForEach-Object { [version](($_.Version -split '-')[0]) })
        @($released | Sort-Object -Descending) | Should -Be $released
        $sections[0].Body + ($sections | Select-Object -Skip 1 | ForEach-Object Body) | Should -Not -BeNullOrEmpty
    }

    It 'has no section for a version newer than Cargo.toml''s' {
        $cargo = [version]((Get-CargoVersion) -split '-')[0]
        foreach ($section in Read-Changelog -Path (Join-Path $repoRoot 'CHANGELOG.md') | Select-Object -Skip 1) {
            [version](($section.Version -split '-')[0]) | Should -BeLessOrEqual $cargo
        }
    }

    It 'refuses <Why>' -TestCases @(
        @{ Why = 'a file without the title'; Text = "## [Unreleased]`n" }
        @{ Why = 'a release heading without a date'; Text = "# Changelog`n## [Unreleased]`n## [1.0.0]`n" }
        @{ Why = 'an unknown kind of change'; Text = "# Changelog`n## [Unreleased]`n### Improved`n- x`n" }
        @{ Why = 'no Unreleased section first'; Text = "# Changelog`n## [1.0.0] - 2026-01-01`n### Added`n- x`n" }
    ) {
        { Read-SampleChangelog $Text } | Should -Throw
    }

    It 'gives the section of the version, or Unreleased for a version it does not have yet' {
        $path = Join-Path $TestDrive 'two.md'
        [System.IO.File]::WriteAllText($path, "# Changelog`n`n## [Unreleased]`n`n### Fixed`n`n- next`n`n## [1.0.0] - 2026-01-01`n`n### Added`n`n- first`n")
        Get-ReleaseNote -Path $path -Version '1.0.0' | Should -BeExactly "### Added`n`n- first"
        Get-ReleaseNote -Path $path -Version '1.1.0' | Should -BeExactly "### Fixed`n`n- next"
    }
}

Describe 'One version' {
    BeforeAll {
        $script:cargoVersion = Get-CargoVersion
        $script:release = ($cargoVersion -split '-')[0]
    }

    It 'is Cargo.toml''s in the manifest (ModuleVersion and Prerelease)' {
        Get-ModuleFullVersion $env:PUMFA_TEST_MODULE | Should -Be $cargoVersion
        $manifest.ModuleVersion | Should -Be $release
    }

    It 'is what every crate inherits' {
        foreach ($crate in Get-ChildItem (Join-Path $repoRoot 'rust') -Filter Cargo.toml -Recurse -Depth 1) {
            Get-Content $crate.FullName -Raw | Should -Match '(?m)^version\.workspace\s*=\s*true' -Because "$($crate.FullName) takes the workspace version"
        }
    }

    It 'is stamped into the assembly' {
        $assembly.GetName().Version | Should -Be ([version]"$release.0")
        $informational = $assembly.GetCustomAttributes([System.Reflection.AssemblyInformationalVersionAttribute], $false)[0].InformationalVersion
        ($informational -split '\+')[0] | Should -Be $cargoVersion
        $module.Version | Should -Be ([version]$release)
    }

    It 'is what the native engine reports (pumfa_version)' {
        Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url  # makes sure the engine is loaded
        $engine = Get-ChildItem (Join-Path $moduleDir "runtimes/$(Get-HostRid)/native") -File | Select-Object -First 1
        if (-not ('PerUserMfaReleaseTests.Engine' -as [type])) {
            # A direct P/Invoke of the loaded engine by full path: nothing new is exposed for this.
            Add-Type -TypeDefinition @"
using System;
using System.Runtime.InteropServices;
namespace PerUserMfaReleaseTests {
    public static class Engine {
        [StructLayout(LayoutKind.Sequential)]
        public struct Buffer { public IntPtr Ptr; public UIntPtr Len; public UIntPtr Cap; }
        [DllImport(@"$($engine.FullName)", EntryPoint = "pumfa_version", CallingConvention = CallingConvention.Cdecl)]
        private static extern int Version(ref Buffer output);
        [DllImport(@"$($engine.FullName)", EntryPoint = "pumfa_buffer_free", CallingConvention = CallingConvention.Cdecl)]
        private static extern void Free(ref Buffer buffer);
        public static string GetVersionJson() {
            var buffer = new Buffer();
            if (Version(ref buffer) != 0) { throw new InvalidOperationException("pumfa_version failed"); }
            try {
                var bytes = new byte[(int)buffer.Len.ToUInt64()];
                Marshal.Copy(buffer.Ptr, bytes, 0, bytes.Length);
                return System.Text.Encoding.UTF8.GetString(bytes);
            } finally { Free(ref buffer); }
        }
    }
}
"@
        }
        ([PerUserMfaReleaseTests.Engine]::GetVersionJson() | ConvertFrom-Json).engine | Should -Be $cargoVersion
    }
}

Describe 'Import-Module -Force' {
    It 'can run twice, and the cmdlets still reach the engine' {
        Import-Module $env:PUMFA_TEST_MODULE -Force
        Import-Module $env:PUMFA_TEST_MODULE -Force
        Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url
        @(Get-PerUserMfaState -All).Count | Should -Be $sim.Users
    }
}

Describe 'Output objects' {
    BeforeAll {
        # The type names the format files give views to.
        $script:viewTypes = @(foreach ($file in @($manifest.FormatsToProcess)) {
                ([xml](Get-Content (Join-Path $moduleDir $file) -Raw)).Configuration.ViewDefinitions.View |
                    ForEach-Object { $_.ViewSelectedBy.TypeName }
            }) | Sort-Object -Unique
        # The type names the cmdlets declare ([OutputType]).
        $script:declared = @{}
        foreach ($command in Get-Command -Module PerUserMfa -CommandType Cmdlet) {
            $script:declared[$command.Name] = @($command.OutputType | ForEach-Object Name)
        }
        # How to make each cmdlet emit what it can emit, against the simulator. A new cmdlet
        # needs an entry here (the test below says so).
        # Journals of bulk changes go to TestDrive, not the user's data folder.
        $script:journal = @{}
        if ((Get-Command Set-PerUserMfaState).Parameters.ContainsKey('JournalPath')) { $script:journal = @{ JournalPath = $TestDrive } }
        $script:samples = @{
            'Connect-PerUserMfa'    = { Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url }
            'Get-PerUserMfaState'   = { Get-PerUserMfaState -All }
            'Get-PerUserMfaConnection' = { Get-PerUserMfaConnection }
            'Set-PerUserMfaState'   = {
                Reset-SimTenant -Sim $sim
                Get-PerUserMfaState -All | Select-Object -First 5 | Set-PerUserMfaState -State Enforced -PassThru -Confirm:$false @journal
            }
            'Undo-PerUserMfaChange' = {
                Reset-SimTenant -Sim $sim
                $file = Join-Path $TestDrive ('sample-' + [guid]::NewGuid().ToString('n') + '.jsonl')
                $null = Get-PerUserMfaState -All | Select-Object -First 5 | Set-PerUserMfaState -State Enforced -JournalPath $file -Confirm:$false
                Undo-PerUserMfaChange -JournalPath $file -PassThru -Confirm:$false -UndoJournalPath $TestDrive
            }
            'Export-PerUserMfaReport' = {
                Get-PerUserMfaState -All | Export-PerUserMfaReport -Path (Join-Path $TestDrive 'sample-report.html') -PassThru
            }
            'Test-PerUserMfaMigration' = {
                Get-PerUserMfaState -All | Select-Object -First 5 | Test-PerUserMfaMigration -WarningAction SilentlyContinue -InformationAction SilentlyContinue
            }
            'Disconnect-PerUserMfa' = { Disconnect-PerUserMfa }
        }
        # Types PowerShell itself formats, emitted where a cmdlet hands back a file it wrote (as
        # New-Item does): anything else must be a PerUserMfa.* type with a view of ours.
        $script:builtInTypes = @('System.IO.FileInfo')
    }

    It 'every format view is for a type some cmdlet emits' {
        $allDeclared = @($declared.Values | ForEach-Object { $_ })
        foreach ($type in $viewTypes) { $allDeclared | Should -Contain $type -Because "the view for $type must be for a declared [OutputType]" }
    }

    It 'every PerUserMfa type a cmdlet declares has a view' {
        foreach ($name in $declared.Keys) {
            foreach ($type in $declared[$name] | Where-Object { $_ -like 'PerUserMfa.*' }) {
                $viewTypes | Should -Contain $type -Because "$name declares [OutputType('$type')]"
            }
            foreach ($type in $declared[$name] | Where-Object { $_ -notin $builtInTypes }) {
                $type | Should -BeLike 'PerUserMfa.*' -Because "$name should emit PerUserMfa.* objects, not $type"
            }
        }
    }

    It 'every object each cmdlet emits is a declared PerUserMfa.* type with a view' {
        Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url
        $order = @('Connect-PerUserMfa') + @($declared.Keys | Where-Object { $_ -notin 'Connect-PerUserMfa', 'Disconnect-PerUserMfa' } | Sort-Object) + @('Disconnect-PerUserMfa')
        foreach ($name in $order) {
            $samples.ContainsKey($name) | Should -BeTrue -Because "tests/Release.Tests.ps1 needs a sample invocation of $name to check what it emits"
            if ($name -ne 'Connect-PerUserMfa' -and $name -ne 'Disconnect-PerUserMfa') { Connect-PerUserMfa -AccessToken $token -GraphEndpoint $sim.Url }
            $emitted = @(& $samples[$name])
            if ($declared[$name].Count -gt 0) {
                $emitted.Count | Should -BeGreaterThan 0 -Because "the sample for $name should emit its output type"
            }
            else {
                $emitted.Count | Should -Be 0 -Because "$name declares no [OutputType]"
            }
            foreach ($object in $emitted) {
                $typeName = $object.PSObject.TypeNames[0]
                $declared[$name] | Should -Contain $typeName
                if ($typeName -notin $builtInTypes) {
                    $typeName | Should -BeLike 'PerUserMfa.*'
                    $viewTypes | Should -Contain $typeName
                }
            }
        }
    }
}

Describe 'Files Windows PowerShell 5.1 reads' {
    It '<Path> has a UTF-8 BOM, since it is not pure ASCII' -TestCases @(
        # The Pester suite and what it loads, the build scripts the suite runs, the shipped module, the examples.
        @(foreach ($folder in 'tests', 'build', 'examples', 'module') {
                Get-ChildItem (Join-Path (Split-Path $PSScriptRoot) $folder) -File -ErrorAction SilentlyContinue |
                    Where-Object { $_.Extension -in '.ps1', '.psm1', '.psd1' }
            }) |
            Where-Object { [System.IO.File]::ReadAllText($_.FullName, [System.Text.Encoding]::GetEncoding(28591)) -match '[\x80-\xFF]' } |
            ForEach-Object { @{ Path = $_.FullName.Substring((Split-Path $PSScriptRoot).Length + 1) } }
    ) {
        # Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page: a UTF-8 name
        # such as a UPN with diaeresis turns into two other characters, and tests using it fail there.
        $bytes = [System.IO.File]::ReadAllBytes((Join-Path (Split-Path $PSScriptRoot) $Path))
        ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF) | Should -BeTrue
    }
}
