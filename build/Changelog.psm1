<#
    Reads CHANGELOG.md (Keep a Changelog 1.1.0). One parser for build.ps1, which stamps the
    manifest's PSData.ReleaseNotes and writes the GitHub release's notes from it, and for the tests
    that check the file's shape and the stamp (tests/Release.Tests.ps1).

    Shape: "# Changelog", an introduction, then "## [Unreleased]" and one "## [<version>] - <date>"
    per release, newest first; inside each, "### Added", "### Changed", "### Deprecated",
    "### Removed", "### Fixed" or "### Security" followed by "- " entries.

    Runs on Windows PowerShell 5.1 and PowerShell 7 (the Pester suite runs on both).
#>
Set-StrictMode -Version 3.0

$script:ChangeKinds = @('Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security')

function Read-Changelog {
    <#
    .SYNOPSIS
        The sections of a changelog, newest first: Version ('Unreleased' or the version), Date,
        Line, and Body (the section's text without its heading, trimmed).
    .DESCRIPTION
        Throws, naming the file and line, when the file breaks the Keep a Changelog shape.
    #>
    param([Parameter(Mandatory)] [string] $Path)
    $lines = [System.IO.File]::ReadAllLines((Resolve-Path -LiteralPath $Path).ProviderPath, [System.Text.Encoding]::UTF8)
    if ($lines.Count -eq 0 -or $lines[0] -ne '# Changelog') { throw "${Path}:1: a changelog starts with '# Changelog'." }
    $sections = [System.Collections.Generic.List[object]]::new()
    $current = $null
    for ($i = 1; $i -lt $lines.Count; $i++) {
        $line = $lines[$i]
        if ($line -match '^## ') {
            if ($line -match '^## \[Unreleased\]\s*$') { $version = 'Unreleased'; $date = '' }
            elseif ($line -match '^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z]+)?)\] - (\d{4}-\d{2}-\d{2})\s*$') { $version = $Matches[1]; $date = $Matches[2] }
            else { throw "${Path}:$($i + 1): a release heading is '## [Unreleased]' or '## [MAJOR.MINOR.PATCH] - YYYY-MM-DD', not '$line'." }
            $current = [pscustomobject]@{ Version = $version; Date = $date; Line = $i + 1; Lines = [System.Collections.Generic.List[string]]::new() }
            $sections.Add($current)
            continue
        }
        if ($line -match '^### (.*)$' -and $script:ChangeKinds -notcontains $Matches[1].Trim()) {
            throw "${Path}:$($i + 1): '### $($Matches[1])' is not one of the kinds of change: $($script:ChangeKinds -join ', ')."
        }
        if ($line -match '^#') {
            if ($null -eq $current) { throw "${Path}:$($i + 1): a heading before the first release section ('## [Unreleased]')." }
            if ($line -notmatch '^### ') { throw "${Path}:$($i + 1): only '### <kind of change>' headings belong inside a release section." }
        }
        if ($null -ne $current) { $current.Lines.Add($line) }
    }
    if ($sections.Count -eq 0 -or $sections[0].Version -ne 'Unreleased') { throw "${Path}: the first section is '## [Unreleased]'." }
    foreach ($section in $sections) {
        [pscustomobject]@{ Version = $section.Version; Date = $section.Date; Line = $section.Line; Body = ($section.Lines -join "`n").Trim() }
    }
}

function Get-ReleaseNote {
    <#
    .SYNOPSIS
        The release notes of one version: its changelog section, or the Unreleased one for a
        version the changelog does not have yet (a build between releases).
    #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Version)
    $sections = @(Read-Changelog -Path $Path)
    $section = $sections | Where-Object Version -EQ $Version | Select-Object -First 1
    if (-not $section) { $section = $sections[0] }
    if (-not $section.Body) { throw "${Path}:$($section.Line): the section for $Version ('$($section.Version)') is empty: say what changed." }
    $section.Body
}

Export-ModuleMember -Function Read-Changelog, Get-ReleaseNote
