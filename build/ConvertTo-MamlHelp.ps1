<#
.SYNOPSIS
    Builds the module's help from docs/help/*.md: en-US/<RootModule>-Help.xml (MAML, what
    Get-Help reads for binary cmdlets) and en-US/about_*.help.txt.

.DESCRIPTION
    The text (synopsis, description, parameter descriptions, examples, inputs, outputs, notes,
    links) comes from the markdown pages (format: build/HelpMarkdown.psm1). Everything that the
    code already knows comes from the cmdlets themselves, read with Get-Command after importing
    the built module: the syntax of every parameter set, and each parameter's type, whether it is
    required, its position, aliases, pipeline input and allowed values. So the help cannot
    disagree with the cmdlet about any of those.

    build.ps1 runs this in a fresh pwsh (the module's DLL never loads into the build's process).
    A page with the wrong shape stops the build. A cmdlet without a page, a parameter without a
    description or a documented parameter the cmdlet does not have is reported as a warning here
    and fails tests/Help.Tests.ps1.

.EXAMPLE
    pwsh -NoProfile -File build/ConvertTo-MamlHelp.ps1 -ModuleManifest out/PerUserMfa/0.1.0/PerUserMfa.psd1 -MarkdownPath docs/help
#>
[CmdletBinding()]
param(
    # The built module's manifest; its folder receives en-US/.
    [Parameter(Mandatory)] [string] $ModuleManifest,
    # The folder with <Cmdlet>.md and about_*.md pages.
    [Parameter(Mandatory)] [string] $MarkdownPath,
    # Where to write the help files; default: <module folder>/en-US.
    [string] $OutputPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1') -Force

$manifestPath = (Resolve-Path -LiteralPath $ModuleManifest).ProviderPath
$moduleDirectory = Split-Path $manifestPath
if (-not $OutputPath) { $OutputPath = Join-Path $moduleDirectory 'en-US' }
$null = New-Item -ItemType Directory -Force $OutputPath

$module = Import-Module $manifestPath -PassThru -Force
$manifestData = Import-PowerShellDataFile $manifestPath
$helpFileName = "$($manifestData.RootModule)-Help.xml"
$commonParameters = [System.Management.Automation.Cmdlet]::CommonParameters

$ns = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
    MSHelp  = 'http://msdn.microsoft.com/mshelp'
}

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.IndentChars = '  '
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$helpFile = Join-Path $OutputPath $helpFileName
$writer = [System.Xml.XmlWriter]::Create($helpFile, $settings)

function Write-Element([string] $Prefix, [string] $Name, [string] $Text) {
    <#
    .SYNOPSIS
        Writes one element holding text, in the namespace of $Prefix.
    #>
    $writer.WriteElementString($Prefix, $Name, $ns[$Prefix], $Text)
}
function Open-Element([string] $Prefix, [string] $Name) {
    <#
    .SYNOPSIS
        Opens an element in the namespace of $Prefix; Close-Element closes it.
    #>
    $writer.WriteStartElement($Prefix, $Name, $ns[$Prefix]) }
function Close-Element {
    <#
    .SYNOPSIS
        Closes the element Open-Element opened last.
    #>
    $writer.WriteEndElement() }

function Write-Description {
    <#
    .SYNOPSIS
        <maml:description> with one <maml:para> per paragraph.
    #>
    param([AllowEmptyCollection()] [string[]] $Paragraphs = @())
    Open-Element maml description
    foreach ($paragraph in $Paragraphs) { Write-Element maml para $paragraph }
    if (-not $Paragraphs) { Write-Element maml para '' }
    Close-Element
}

function Get-TypeName([type] $Type) {
    <#
    .SYNOPSIS
        A parameter type as the syntax line shows it (the short name).
    #>
    $Type.Name
}

function Get-AllowedValue {
    <#
    .SYNOPSIS
        Enum members or ValidateSet values: Get-Help shows them in the syntax as {A | B | C}.
    #>
    param($Parameter)
    $type = $Parameter.ParameterType
    if ($type.IsArray) { $type = $type.GetElementType() }
    if ($type.IsEnum) { return [System.Enum]::GetNames($type) }
    $set = $Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | Select-Object -First 1
    if ($set) { return @($set.ValidValues) }
    @()
}

function Format-PipelineInput([bool] $ByValue, [bool] $ByPropertyName) {
    <#
    .SYNOPSIS
        The "Accept pipeline input" text: True (ByValue, ByPropertyName), or False.
    #>
    $kinds = @()
    if ($ByValue) { $kinds += 'ByValue' }
    if ($ByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Write-TypeList([string] $ListName, [string] $EntryName, $Entries) {
    <#
    .SYNOPSIS
        <command:inputTypes> and <command:returnValues>: one typed entry per documented type.
    #>
    Open-Element command $ListName
    foreach ($entry in @($Entries)) {
        Open-Element command $EntryName
        Open-Element dev type
        Write-Element maml name $entry.Type
        Close-Element
        Write-Description $entry.Description
        Close-Element
    }
    Close-Element
}

function Get-DefaultValue {
    <#
    .SYNOPSIS
        The default a parameter's text states ("(default 30", "The default (60)", "the default is 365.",
        "Global (the default)"), so Get-Help does not show "Default value: None" for a parameter that has
        one; 'None' when the text states none.
    #>
    param([string[]] $Description)
    $text = $Description -join ' '
    foreach ($pattern in '\(default (?<v>[^,;)\s]+)', '\bdefault \((?<v>[^)]+)\)', '\bdefault is (?<v>"[^"]+"|[^.;,\s]+)', '(?<v>\w+) \(the default\)') {
        if ($text -match "(?i)$pattern") { return $Matches['v'].Trim('"') }
    }
    'None'
}

function Write-Parameter {
    <#
    .SYNOPSIS
        One <command:parameter>; $Sets are the ParameterSetMetadata/CommandParameterInfo facts that apply.
    #>
    param($Name, [type] $Type, [bool] $Required, [string] $Position, [string] $PipelineInput, [string[]] $Aliases,
        [string[]] $Description, [string[]] $AllowedValues)
    $isSwitch = $Type -eq [System.Management.Automation.SwitchParameter]
    Open-Element command parameter
    $writer.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $writer.WriteAttributeString('variableLength', $Type.IsArray.ToString().ToLowerInvariant())
    $writer.WriteAttributeString('globbing', 'false')
    $writer.WriteAttributeString('pipelineInput', $PipelineInput)
    $writer.WriteAttributeString('position', $Position)
    $writer.WriteAttributeString('aliases', $(if ($Aliases) { $Aliases -join ', ' } else { 'none' }))
    Write-Element maml name $Name
    Write-Description $Description
    if ($AllowedValues) {
        Open-Element command parameterValueGroup
        foreach ($value in $AllowedValues) {
            Open-Element command parameterValue
            $writer.WriteAttributeString('required', 'false')
            $writer.WriteAttributeString('command', 'parameterValue', $ns.command, 'false')
            $writer.WriteString($value)
            Close-Element
        }
        Close-Element
    }
    if (-not $isSwitch) {
        Open-Element command parameterValue
        $writer.WriteAttributeString('required', 'true')
        $writer.WriteAttributeString('variableLength', $Type.IsArray.ToString().ToLowerInvariant())
        $writer.WriteString((Get-TypeName $Type))
        Close-Element
    }
    Open-Element dev type
    Write-Element maml name (Get-TypeName $Type)
    Write-Element maml uri ''
    Close-Element
    Write-Element dev defaultValue $(if ($isSwitch) { 'False' } else { Get-DefaultValue $Description })
    Close-Element
}

$problems = [System.Collections.Generic.List[string]]::new()
$cmdlets = @(Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)

$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', $ns.msh)
$writer.WriteAttributeString('schema', 'maml')
foreach ($prefix in 'maml', 'command', 'dev', 'MSHelp') {
    $writer.WriteAttributeString('xmlns', $prefix, 'http://www.w3.org/2000/xmlns/', $ns[$prefix])
}

foreach ($cmdlet in $cmdlets) {
    $pagePath = Join-Path $MarkdownPath "$($cmdlet.Name).md"
    if (-not (Test-Path -LiteralPath $pagePath)) {
        $problems.Add("$($cmdlet.Name) has no help page ($pagePath).")
        continue
    }
    $page = Read-HelpMarkdown -Path $pagePath
    $parameters = @($cmdlet.Parameters.Values | Where-Object { $commonParameters -notcontains $_.Name })
    foreach ($parameter in $parameters) {
        if (-not $page.Parameters.Contains($parameter.Name) -or -not $page.Parameters[$parameter.Name]) {
            $problems.Add("$($cmdlet.Name): -$($parameter.Name) has no description in $pagePath.")
        }
    }
    foreach ($documented in $page.Parameters.Keys) {
        if (-not ($parameters | Where-Object Name -EQ $documented)) {
            $problems.Add("${pagePath}: documents -$documented, which $($cmdlet.Name) does not have.")
        }
    }
    $descriptionOf = { param($name) if ($page.Parameters.Contains($name)) { @($page.Parameters[$name]) } else { @() } }

    Open-Element command command
    Open-Element command details
    Write-Element command name $cmdlet.Name
    Write-Element command verb $cmdlet.Verb
    Write-Element command noun $cmdlet.Noun
    Write-Description @($page.Synopsis)
    Close-Element

    Write-Description $page.Description

    # Syntax: one item per parameter set, from the cmdlet's own metadata.
    Open-Element command syntax
    foreach ($set in $cmdlet.ParameterSets) {
        Open-Element command syntaxItem
        Write-Element maml name $cmdlet.Name
        $setParameters = @($set.Parameters | Where-Object { $commonParameters -notcontains $_.Name })
        $positional = @($setParameters | Where-Object { $_.Position -ge 0 } | Sort-Object Position)
        $named = @($setParameters | Where-Object { $_.Position -lt 0 })
        foreach ($p in @($positional) + @($named)) {
            Write-Parameter -Name $p.Name -Type $p.ParameterType -Required $p.IsMandatory `
                -Position $(if ($p.Position -ge 0) { "$($p.Position)" } else { 'named' }) `
                -PipelineInput (Format-PipelineInput $p.ValueFromPipeline $p.ValueFromPipelineByPropertyName) `
                -Aliases $p.Aliases -Description (& $descriptionOf $p.Name) -AllowedValues (Get-AllowedValue $p)
        }
        Close-Element
    }
    Close-Element

    # Parameters: each once, in the order the page documents them (then any undocumented).
    Open-Element command parameters
    $ordered = @($page.Parameters.Keys | ForEach-Object { $n = $_; $parameters | Where-Object Name -EQ $n }) +
        @($parameters | Where-Object { -not $page.Parameters.Contains($_.Name) })
    foreach ($parameter in $ordered) {
        $setFacts = @($parameter.ParameterSets.Values)
        $positions = @($setFacts | Where-Object { $_.Position -ge 0 } | ForEach-Object Position | Sort-Object -Unique)
        Write-Parameter -Name $parameter.Name -Type $parameter.ParameterType `
            -Required (@($setFacts | Where-Object { -not $_.IsMandatory }).Count -eq 0) `
            -Position $(if ($positions.Count -ge 1) { "$($positions[0])" } else { 'named' }) `
            -PipelineInput (Format-PipelineInput (@($setFacts | Where-Object ValueFromPipeline).Count -gt 0) (@($setFacts | Where-Object ValueFromPipelineByPropertyName).Count -gt 0)) `
            -Aliases $parameter.Aliases -Description (& $descriptionOf $parameter.Name) -AllowedValues (Get-AllowedValue $parameter)
    }
    Close-Element

    Write-TypeList inputTypes inputType $page.Inputs
    Write-TypeList returnValues returnValue $page.Outputs

    Open-Element maml alertSet
    Open-Element maml alert
    foreach ($paragraph in $page.Notes) { Write-Element maml para $paragraph }
    Close-Element
    Close-Element

    Open-Element command examples
    foreach ($example in $page.Examples) {
        Open-Element command example
        Write-Element maml title "--------- Example $($example.Number): $($example.Title) ---------"
        Write-Element dev code $example.Code
        Open-Element dev remarks
        foreach ($paragraph in $example.Remarks) { Write-Element maml para $paragraph }
        Close-Element
        Close-Element
    }
    Close-Element

    Open-Element command relatedLinks
    foreach ($link in $page.RelatedLinks) {
        Open-Element maml navigationLink
        Write-Element maml linkText $link.Text
        Write-Element maml uri $link.Uri
        Close-Element
    }
    Close-Element

    Close-Element # command:command
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Dispose()
Write-Host "Help: $helpFile ($($cmdlets.Count) cmdlets)"

foreach ($page in Get-ChildItem -LiteralPath $MarkdownPath -Filter '*.md') {
    $name = $page.BaseName
    if ($name -like 'about_*') {
        $text = ConvertTo-AboutHelpText (Read-AboutMarkdown -Path $page.FullName)
        $target = Join-Path $OutputPath "$name.help.txt"
        # With a BOM: Windows PowerShell 5.1 reads a BOM-less text file as ANSI.
        [System.IO.File]::WriteAllText($target, $text, [System.Text.UTF8Encoding]::new($true))
        Write-Host "Help: $target"
    }
    elseif (-not ($cmdlets | Where-Object Name -EQ $name)) {
        $problems.Add("$($page.FullName) documents $name, which the module does not export.")
    }
}

foreach ($problem in $problems) { Write-Warning $problem }
