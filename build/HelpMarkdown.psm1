<#
    Reads the help pages in docs/help/. One parser for the build step that turns them into MAML
    (build/ConvertTo-MamlHelp.ps1) and for the tests that check them (tests/Help.Tests.ps1).

    A cmdlet page, docs/help/<Cmdlet>.md, has exactly this shape (platyPS is not used):

        # <Cmdlet>
        ## SYNOPSIS            one paragraph
        ## DESCRIPTION         paragraphs
        ## PARAMETERS          ### -<Parameter> followed by its description, for every parameter
                               but the common ones (-WhatIf and -Confirm are documented)
        ## EXAMPLES            ### Example N: <title>, a ```powershell fenced block, then text
        ## INPUTS              ### <type name> followed by text (or text only)
        ## OUTPUTS             ### <type name> followed by text (or text only)
        ## NOTES               paragraphs
        ## RELATED LINKS       optional: "- [text](target)" or "- https://..." lines

    An about topic, docs/help/about_<Topic>.md: "# about_<Topic>", then "## SHORT DESCRIPTION",
    "## LONG DESCRIPTION" and any further "## SECTION"s.

    Runs on Windows PowerShell 5.1 and PowerShell 7 (the Pester suite runs on both).
#>
Set-StrictMode -Version 3.0

$script:CmdletSections = @('SYNOPSIS', 'DESCRIPTION', 'PARAMETERS', 'EXAMPLES', 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS')
$script:RequiredCmdletSections = @('SYNOPSIS', 'DESCRIPTION', 'PARAMETERS', 'EXAMPLES', 'INPUTS', 'OUTPUTS', 'NOTES')

function New-HelpFormatError([string] $Path, [int] $Line, [string] $Message) {
    <#
    .SYNOPSIS
        The error for a page that breaks the format: file, line and what is wrong.
    #>
    $where = if ($Line -gt 0) { "${Path}:$Line" } else { $Path }
    [System.FormatException]::new("${where}: $Message")
}

function Read-MarkdownBlock {
    <#
    .SYNOPSIS
        Splits lines into headings and text blocks; lines inside ``` fences are never headings.
    #>
    param([string[]] $Lines)
    $inFence = $false
    for ($i = 0; $i -lt $Lines.Count; $i++) {
        $line = $Lines[$i]
        if ($line -match '^\s*```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match '^(#{1,3}) (.+?)\s*$') {
            [pscustomobject]@{ Kind = 'Heading'; Level = $Matches[1].Length; Text = $Matches[2]; Line = $i + 1 }
        }
        else {
            [pscustomobject]@{ Kind = 'Text'; Level = 0; Text = $line; Line = $i + 1 }
        }
    }
}

function ConvertTo-HelpParagraph {
    <#
    .SYNOPSIS
        Text lines as paragraphs: blank lines separate paragraphs; the lines of an ordinary
        paragraph are joined with spaces; list items, tables and fenced code keep their line
        breaks (a fence's ``` lines are dropped).
    #>
    param([AllowEmptyCollection()] [string[]] $Lines = @())
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    $current = [System.Collections.Generic.List[string]]::new()
    $keepBreaks = $false
    $inFence = $false
    $flush = {
        if ($current.Count -gt 0) {
            $text = if ($keepBreaks) { $current -join "`n" } else { ($current | ForEach-Object { $_.Trim() }) -join ' ' }
            $paragraphs.Add($text.TrimEnd())
        }
        $current.Clear()
    }
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') {
            if (-not $inFence) { . $flush; $inFence = $true; $keepBreaks = $true }
            else { . $flush; $inFence = $false; $keepBreaks = $false }
            continue
        }
        if ($inFence) { $current.Add($line); continue }
        if ($line.Trim() -eq '') { . $flush; $keepBreaks = $false; continue }
        if ($current.Count -eq 0) { $keepBreaks = $line -match '^\s*([-*] |\d+\. |\|)' }
        elseif ($line -match '^\s*([-*] |\d+\. |\|)') { $keepBreaks = $true }
        $current.Add($line)
    }
    . $flush
    $paragraphs.ToArray()
}

function Get-SectionBody {
    <#
    .SYNOPSIS
        The text lines of a section (blocks up to the next heading of the same or a higher level).
    #>
    param($Blocks, [int] $Start, [int] $Level)
    $lines = [System.Collections.Generic.List[string]]::new()
    for ($i = $Start; $i -lt $Blocks.Count; $i++) {
        if ($Blocks[$i].Kind -eq 'Heading' -and $Blocks[$i].Level -le $Level) { break }
        $lines.Add($Blocks[$i].Text)
    }
    , $lines.ToArray()
}

function Split-Subsection {
    <#
    .SYNOPSIS
        A section's blocks split at its ### headings: Intro (lines before the first) and Items.
    #>
    param($Blocks, [string] $Path)
    $intro = [System.Collections.Generic.List[string]]::new()
    $items = [System.Collections.Generic.List[object]]::new()
    $current = $null
    foreach ($block in $Blocks) {
        if ($block.Kind -eq 'Heading' -and $block.Level -eq 3) {
            $current = [pscustomobject]@{ Title = $block.Text; Line = $block.Line; Lines = [System.Collections.Generic.List[string]]::new() }
            $items.Add($current)
        }
        elseif ($block.Kind -eq 'Heading') {
            throw (New-HelpFormatError $Path $block.Line "unexpected heading '$($block.Text)' (only ### subsections are allowed inside a ## section)")
        }
        elseif ($null -eq $current) { $intro.Add($block.Text) }
        else { $current.Lines.Add($block.Text) }
    }
    [pscustomobject]@{ Intro = $intro.ToArray(); Items = $items.ToArray() }
}

function Read-TypedEntry {
    <#
    .SYNOPSIS
        INPUTS / OUTPUTS: "### TypeName" + text per type, or text only.
    #>
    param($Section, [string] $Path)
    $split = Split-Subsection $Section $Path
    $entries = foreach ($item in $split.Items) {
        [pscustomobject]@{ Type = $item.Title.Trim('`', ' '); Description = @(ConvertTo-HelpParagraph $item.Lines) }
    }
    $introText = @(ConvertTo-HelpParagraph $split.Intro)
    if (-not $split.Items -and $introText) {
        $entries = @([pscustomobject]@{ Type = ''; Description = $introText })
    }
    @($entries)
}

function Read-MarkdownFile([string] $Path) {
    <#
    .SYNOPSIS
        A markdown file's blocks; every page is UTF-8 whatever the platform's default encoding.
    #>
    $lines = [System.IO.File]::ReadAllLines((Resolve-Path -LiteralPath $Path).ProviderPath, [System.Text.Encoding]::UTF8)
    Read-MarkdownBlock $lines
}

function Read-HelpMarkdown {
    <#
    .SYNOPSIS
        Parses one cmdlet help page. Throws a FormatException naming the file and line when the
        page does not have the documented shape.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)

    $blocks = @(Read-MarkdownFile $Path)
    $expectedName = [System.IO.Path]::GetFileNameWithoutExtension($Path)

    $title = $blocks | Where-Object { $_.Kind -eq 'Heading' } | Select-Object -First 1
    if (-not $title -or $title.Level -ne 1) { throw (New-HelpFormatError $Path 1 "the page must start with '# $expectedName'") }
    if ($title.Text -cne $expectedName) { throw (New-HelpFormatError $Path $title.Line "the title '# $($title.Text)' must be the file's name, '# $expectedName'") }
    if (@($blocks | Where-Object { $_.Kind -eq 'Heading' -and $_.Level -eq 1 }).Count -ne 1) {
        throw (New-HelpFormatError $Path 0 'exactly one # title is allowed')
    }

    # The ## sections, in order.
    $sections = [ordered]@{}
    $order = [System.Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $blocks.Count; $i++) {
        $block = $blocks[$i]
        if ($block.Kind -ne 'Heading' -or $block.Level -ne 2) { continue }
        $name = $block.Text.Trim()
        if ($script:CmdletSections -cnotcontains $name) {
            throw (New-HelpFormatError $Path $block.Line "unknown section '## $name'; the sections are: $($script:CmdletSections -join ', ')")
        }
        if ($sections.Contains($name)) { throw (New-HelpFormatError $Path $block.Line "section '## $name' appears twice") }
        $body = [System.Collections.Generic.List[object]]::new()
        for ($j = $i + 1; $j -lt $blocks.Count; $j++) {
            if ($blocks[$j].Kind -eq 'Heading' -and $blocks[$j].Level -le 2) { break }
            $body.Add($blocks[$j])
        }
        $sections[$name] = $body.ToArray()
        $order.Add($name)
    }
    foreach ($required in $script:RequiredCmdletSections) {
        if (-not $sections.Contains($required)) { throw (New-HelpFormatError $Path 0 "section '## $required' is missing") }
    }
    $expectedOrder = @($script:CmdletSections | Where-Object { $order -ccontains $_ })
    if (($order -join '|') -cne ($expectedOrder -join '|')) {
        throw (New-HelpFormatError $Path 0 "sections must come in this order: $($expectedOrder -join ', ')")
    }

    $textOf = { param($name) ConvertTo-HelpParagraph @($sections[$name] | Where-Object Kind -EQ 'Text' | ForEach-Object Text) }
    foreach ($name in 'SYNOPSIS', 'DESCRIPTION', 'NOTES') {
        if (@($sections[$name] | Where-Object Kind -EQ 'Heading').Count -gt 0) {
            throw (New-HelpFormatError $Path 0 "section '## $name' may not have ### subsections")
        }
    }
    $synopsis = @(& $textOf 'SYNOPSIS')
    if ($synopsis.Count -ne 1) { throw (New-HelpFormatError $Path 0 "'## SYNOPSIS' must be exactly one paragraph") }

    # PARAMETERS: ### -Name + description.
    $parameterSplit = Split-Subsection $sections['PARAMETERS'] $Path
    if (@(ConvertTo-HelpParagraph $parameterSplit.Intro).Count -gt 0) {
        throw (New-HelpFormatError $Path 0 "'## PARAMETERS' holds only '### -<Parameter>' subsections")
    }
    $parameters = [ordered]@{}
    foreach ($item in $parameterSplit.Items) {
        if ($item.Title -notmatch '^-([A-Za-z][A-Za-z0-9]*)$') {
            throw (New-HelpFormatError $Path $item.Line "a parameter heading is '### -<Name>', not '### $($item.Title)'")
        }
        $parameterName = $Matches[1]
        if ($parameters.Contains($parameterName)) { throw (New-HelpFormatError $Path $item.Line "parameter -$parameterName is documented twice") }
        $parameters[$parameterName] = @(ConvertTo-HelpParagraph $item.Lines)
    }

    # EXAMPLES: ### Example N: title, ```powershell block, text.
    $exampleSplit = Split-Subsection $sections['EXAMPLES'] $Path
    if (@(ConvertTo-HelpParagraph $exampleSplit.Intro).Count -gt 0) {
        throw (New-HelpFormatError $Path 0 "'## EXAMPLES' holds only '### Example N: <title>' subsections")
    }
    $examples = [System.Collections.Generic.List[object]]::new()
    foreach ($item in $exampleSplit.Items) {
        if ($item.Title -notmatch '^Example (\d+): (\S.*)$') {
            throw (New-HelpFormatError $Path $item.Line "an example heading is '### Example N: <title>', not '### $($item.Title)'")
        }
        $number = [int] $Matches[1]
        $exampleTitle = $Matches[2]
        if ($number -ne $examples.Count + 1) { throw (New-HelpFormatError $Path $item.Line "example $number should be numbered $($examples.Count + 1)") }
        $itemLines = @($item.Lines)
        $first = 0
        while ($first -lt $itemLines.Count -and $itemLines[$first].Trim() -eq '') { $first++ }
        if ($first -ge $itemLines.Count -or $itemLines[$first] -notmatch '^```powershell\s*$') {
            throw (New-HelpFormatError $Path $item.Line "example $number must start with a ``````powershell fenced block")
        }
        $end = $first + 1
        while ($end -lt $itemLines.Count -and $itemLines[$end] -notmatch '^```\s*$') { $end++ }
        if ($end -ge $itemLines.Count) { throw (New-HelpFormatError $Path $item.Line "example ${number}: the code block is not closed") }
        $code = ($itemLines[($first + 1)..($end - 1)] -join "`n").Trim("`n")
        if (-not $code.Trim()) { throw (New-HelpFormatError $Path $item.Line "example ${number}: the code block is empty") }
        $rest = if ($end + 1 -lt $itemLines.Count) { $itemLines[($end + 1)..($itemLines.Count - 1)] } else { @() }
        $remarks = @(ConvertTo-HelpParagraph $rest)
        if (-not $remarks) { throw (New-HelpFormatError $Path $item.Line "example ${number}: explain the example in text after the code block") }
        $examples.Add([pscustomobject]@{ Number = $number; Title = $exampleTitle; Code = $code; Remarks = $remarks })
    }

    $links = [System.Collections.Generic.List[object]]::new()
    if ($sections.Contains('RELATED LINKS')) {
        foreach ($line in @($sections['RELATED LINKS'] | Where-Object Kind -EQ 'Text' | ForEach-Object Text)) {
            if ($line.Trim() -eq '') { continue }
            if ($line -match '^\s*[-*]\s+\[([^\]]+)\]\(([^)]*)\)\s*$') {
                $target = $Matches[2]
                # Links to sibling pages (Get-PerUserMfaState.md) become plain names that Get-Help resolves.
                $uri = if ($target -match '^https?://') { $target } else { '' }
                $links.Add([pscustomobject]@{ Text = $Matches[1]; Uri = $uri })
            }
            elseif ($line -match '^\s*[-*]\s+(https?://\S+)\s*$') {
                $links.Add([pscustomobject]@{ Text = 'Online version:'; Uri = $Matches[1] })
            }
            else {
                throw (New-HelpFormatError $Path 0 "a related link is '- [text](target)' or '- https://...', not '$line'")
            }
        }
    }

    [pscustomobject]@{
        PSTypeName   = 'PerUserMfa.Build.HelpPage'
        Name         = $title.Text
        Path         = $Path
        Synopsis     = $synopsis[0]
        Description  = @(& $textOf 'DESCRIPTION')
        Parameters   = $parameters
        Examples     = $examples.ToArray()
        Inputs       = @(Read-TypedEntry $sections['INPUTS'] $Path)
        Outputs      = @(Read-TypedEntry $sections['OUTPUTS'] $Path)
        Notes        = @(& $textOf 'NOTES')
        RelatedLinks = $links.ToArray()
    }
}

function Read-AboutMarkdown {
    <#
    .SYNOPSIS
        Parses an about topic page: "# about_X", "## SHORT DESCRIPTION", "## LONG DESCRIPTION",
        then any "## SECTION"s (### subheadings allowed inside them).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    $blocks = @(Read-MarkdownFile $Path)
    $expectedName = [System.IO.Path]::GetFileNameWithoutExtension($Path)
    $title = $blocks | Where-Object { $_.Kind -eq 'Heading' } | Select-Object -First 1
    if (-not $title -or $title.Level -ne 1 -or $title.Text -cne $expectedName) {
        throw (New-HelpFormatError $Path 1 "the page must start with '# $expectedName'")
    }
    $sections = [System.Collections.Generic.List[object]]::new()
    $current = $null
    foreach ($block in $blocks) {
        if ($block.Kind -eq 'Heading' -and $block.Level -eq 1) { continue }
        if ($block.Kind -eq 'Heading' -and $block.Level -eq 2) {
            $current = [pscustomobject]@{ Title = $block.Text.Trim(); Blocks = [System.Collections.Generic.List[object]]::new() }
            $sections.Add($current)
            continue
        }
        if ($null -eq $current) {
            if ($block.Text.Trim()) { throw (New-HelpFormatError $Path $block.Line 'text before the first ## section') }
            continue
        }
        $current.Blocks.Add($block)
    }
    if ($sections.Count -lt 2 -or $sections[0].Title -cne 'SHORT DESCRIPTION' -or $sections[1].Title -cne 'LONG DESCRIPTION') {
        throw (New-HelpFormatError $Path 0 "an about topic starts with '## SHORT DESCRIPTION' and '## LONG DESCRIPTION'")
    }
    [pscustomobject]@{ Name = $title.Text; Path = $Path; Sections = $sections.ToArray() }
}

function ConvertTo-AboutHelpText {
    <#
    .SYNOPSIS
        An about topic as the plain text Get-Help shows (about_X.help.txt): section titles in
        capitals at the margin, text wrapped at 80 columns and indented 4, code indented 8.
    #>
    param([Parameter(Mandatory)] $About)
    $out = [System.Text.StringBuilder]::new()
    $wrap = {
        param([string] $Text, [int] $Indent, [int] $Hanging = 0)
        $width = 80 - $Indent
        $line = ''
        $first = $true
        foreach ($word in ($Text -split '\s+' | Where-Object { $_ })) {
            $pad = if ($first) { 0 } else { $Hanging }
            if ($line -and ($line.Length + 1 + $word.Length) -gt ($width - $pad)) {
                [void]$out.AppendLine((' ' * ($Indent + $pad)) + $line)
                $line = $word
                $first = $false
            }
            else { $line = if ($line) { "$line $word" } else { $word } }
        }
        if ($line) { [void]$out.AppendLine((' ' * ($Indent + $(if ($first) { 0 } else { $Hanging }))) + $line) }
    }
    [void]$out.AppendLine('TOPIC')
    [void]$out.AppendLine("    $($About.Name)")
    foreach ($section in $About.Sections) {
        [void]$out.AppendLine()
        [void]$out.AppendLine($section.Title.ToUpperInvariant())
        $pending = [System.Collections.Generic.List[string]]::new()
        $emit = {
            $paragraphs = @(ConvertTo-HelpParagraph $pending.ToArray())
            $firstParagraph = $true
            foreach ($paragraph in $paragraphs) {
                if (-not $firstParagraph) { [void]$out.AppendLine() }
                $firstParagraph = $false
                $isCode = $script:codeParagraphs -contains $paragraph
                if ($isCode) {
                    foreach ($codeLine in $paragraph -split "`n") { [void]$out.AppendLine(('        ' + $codeLine).TrimEnd()) }
                }
                elseif ($paragraph -match "`n") {
                    foreach ($item in $paragraph -split "`n") {
                        if ($item -match '^\s*\|') { [void]$out.AppendLine('    ' + $item.Trim()) }
                        elseif ($item -match '^\s*([-*]|\d+\.) (.*)$') { & $wrap ($Matches[1] + ' ' + $Matches[2]) 4 ($Matches[1].Length + 1) }
                        else { & $wrap $item 4 }
                    }
                }
                else { & $wrap $paragraph 4 }
            }
            $pending.Clear()
        }
        # Fenced code blocks are remembered so they are indented, not wrapped.
        $script:codeParagraphs = [System.Collections.Generic.List[string]]::new()
        $inFence = $false
        $fence = [System.Collections.Generic.List[string]]::new()
        foreach ($block in $section.Blocks) {
            if ($block.Kind -eq 'Heading') {
                . $emit
                [void]$out.AppendLine()
                [void]$out.AppendLine("  $($block.Text)")
                continue
            }
            if ($block.Text -match '^\s*```') {
                if (-not $inFence) { $inFence = $true; $fence.Clear() }
                else {
                    $inFence = $false
                    $code = ($fence -join "`n").TrimEnd()
                    $script:codeParagraphs.Add($code)
                    $pending.Add('```'); foreach ($l in $fence) { $pending.Add($l) }; $pending.Add('```')
                }
                continue
            }
            if ($inFence) { $fence.Add($block.Text) } else { $pending.Add($block.Text) }
        }
        . $emit
    }
    $out.ToString()
}

Export-ModuleMember -Function Read-HelpMarkdown, Read-AboutMarkdown, ConvertTo-AboutHelpText, ConvertTo-HelpParagraph
