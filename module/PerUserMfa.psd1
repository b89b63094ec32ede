@{
    RootModule             = 'PerUserMfa.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = 'f6592861-120b-4670-8fbd-274d4859a235'
    Author                 = 'PerUserMfa contributors'
    CompanyName            = 'PerUserMfa contributors'
    Copyright              = '(c) PerUserMfa contributors. MIT License.'
    Description            = 'Reports and changes Microsoft Entra per-user MFA state (Disabled, Enabled, Enforced) through Microsoft Graph, fast and at tenant scale. Runs on Windows PowerShell 5.1 and PowerShell 7.4+ on Windows, Linux and macOS.'
    CompatiblePSEditions   = @('Desktop', 'Core')
    PowerShellVersion      = '5.1'
    # Windows PowerShell 5.1: the .NET Framework the module is built and tested for.
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('PerUserMfa.format.ps1xml')
    CmdletsToExport        = @('Connect-PerUserMfa', 'Disconnect-PerUserMfa', 'Export-PerUserMfaReport', 'Get-PerUserMfaConnection', 'Get-PerUserMfaState', 'Set-PerUserMfaState', 'Test-PerUserMfaMigration', 'Undo-PerUserMfaChange')
    FunctionsToExport      = @()
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        # What this module promises: one native engine per runtime identifier under
        # runtimes/<rid>/native/. build/Test-PackageRids.ps1 refuses a package that lacks one.
        PerUserMfa = @{
            SupportedRids = @('win-x64', 'win-arm64', 'linux-x64', 'linux-arm64', 'osx-x64', 'osx-arm64')
        }
        PSData     = @{
            # build.ps1 adds Prerelease = '<label>' here when Cargo.toml's version has a pre-release part.
            Tags         = @('PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS', 'Entra', 'MFA', 'Graph')
            ProjectUri   = 'https://github.com/PerUserMfa/PerUserMfa'
            LicenseUri   = 'https://github.com/PerUserMfa/PerUserMfa/blob/main/LICENSE'
            # build.ps1 stamps this version's section of CHANGELOG.md here.
            ReleaseNotes = 'See CHANGELOG.md.'
        }
    }
}
