#Requires -Modules Pester
<#
    Get-Help for every exported cmdlet, as the built (or installed) module shows it: the help file
    is generated from docs/help/<Cmdlet>.md by build/ConvertTo-MamlHelp.ps1. Generic over the
    module's cmdlets: a new cmdlet needs its page before these pass.
#>

BeforeDiscovery {
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $cmdlets = @(Get-Command -Module PerUserMfa -CommandType Cmdlet | Sort-Object Name | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../build/HelpMarkdown.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:docs = Join-Path $PSScriptRoot '../docs/help'
    $script:common = [System.Management.Automation.Cmdlet]::CommonParameters
    # The two cmdlets admins use most carry the scenarios the README promises.
    $script:minimumExamples = @{ 'Get-PerUserMfaState' = 4; 'Set-PerUserMfaState' = 4 }

    function script:Get-ParaText($Description) {
        # Get-Help's description: an array of objects with a Text property (or null).
        ((@($Description) | Where-Object { $_ } | ForEach-Object { $_.Text }) -join "`n").Trim()
    }
}

Describe 'Help for <Name>' -ForEach $cmdlets {
    BeforeAll {
        $script:command = Get-Command $Name
        $script:help = Get-Help $Name -Full
        $script:page = Join-Path $docs "$Name.md"
        $script:parameters = @($command.Parameters.Values | Where-Object { $common -notcontains $_.Name })
    }

    It 'has a page in docs/help in the documented format' {
        Test-Path $page | Should -BeTrue -Because "every cmdlet is documented in docs/help/<Cmdlet>.md"
        { Read-HelpMarkdown -Path $page } | Should -Not -Throw
    }

    It 'has a synopsis and a description (not the ones Get-Help makes up without a help file)' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$Name *"
        $help.Synopsis | Should -Be (Read-HelpMarkdown -Path $page).Synopsis
        Get-ParaText $help.description | Should -Not -BeNullOrEmpty
    }

    It 'has enough examples, each with code and an explanation' {
        $minimum = if ($minimumExamples.ContainsKey($Name)) { $minimumExamples[$Name] } else { 2 }
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual $minimum
        foreach ($example in $examples) {
            $example.code | Should -Not -BeNullOrEmpty
            Get-ParaText $example.remarks | Should -Not -BeNullOrEmpty
        }
    }

    It 'describes every parameter' {
        $helpParameters = @($help.parameters.parameter | Where-Object { $_ })
        foreach ($parameter in $parameters) {
            $entry = $helpParameters | Where-Object name -EQ $parameter.Name
            $entry | Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) must be in the help"
            Get-ParaText $entry.description | Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) needs a description in $page"
        }
    }

    It 'documents no parameter the cmdlet does not have' {
        $documented = @((Read-HelpMarkdown -Path $page).Parameters.Keys)
        foreach ($name in $documented) {
            $parameters.Name | Should -Contain $name -Because "$page documents -$name"
        }
        foreach ($entry in @($help.parameters.parameter | Where-Object { $_ })) {
            $command.Parameters.Keys | Should -Contain $entry.name
        }
    }

    It 'shows the type, position, requirement and pipeline input the cmdlet really has' {
        foreach ($parameter in $parameters) {
            $entry = @($help.parameters.parameter) | Where-Object name -EQ $parameter.Name
            $entry.type.name | Should -Be $parameter.ParameterType.Name
            $sets = @($parameter.ParameterSets.Values)
            $entry.required | Should -Be (@($sets | Where-Object { -not $_.IsMandatory }).Count -eq 0).ToString().ToLowerInvariant()
            $positions = @($sets | Where-Object { $_.Position -ge 0 })
            if ($positions) { $entry.position | Should -Be ([string]$positions[0].Position) } else { $entry.position | Should -Be 'named' }
            $byValue = @($sets | Where-Object ValueFromPipeline).Count -gt 0
            $byName = @($sets | Where-Object ValueFromPipelineByPropertyName).Count -gt 0
            if ($byValue -or $byName) { $entry.pipelineInput | Should -BeLike 'True*' } else { $entry.pipelineInput | Should -Be 'False' }
        }
    }

    It 'has one syntax per parameter set, with that set''s parameters' {
        $syntax = @($help.syntax.syntaxItem)
        $syntax.Count | Should -Be $command.ParameterSets.Count
        for ($i = 0; $i -lt $syntax.Count; $i++) {
            $expected = @($command.ParameterSets[$i].Parameters | Where-Object { $common -notcontains $_.Name } | ForEach-Object Name | Sort-Object)
            @($syntax[$i].parameter | ForEach-Object name | Sort-Object) | Should -Be $expected
        }
    }

    It 'sends Get-Help -Online to the module''s own page, not Graph''s' {
        $online = @($help.relatedLinks.navigationLink | Where-Object { $_.uri } | ForEach-Object uri)[0]
        $online | Should -Be "https://github.com/PerUserMfa/PerUserMfa/blob/main/docs/help/$Name.md"
        $command.HelpUri | Should -Be $online
    }

    It 'shows no "Default value: None" for a parameter whose text states a default' {
        foreach ($parameter in $parameters) {
            $entry = @($help.parameters.parameter) | Where-Object name -EQ $parameter.Name
            if ((Get-ParaText $entry.description) -match '(?i)\(default \w|\bdefault \(|\bdefault is ') {
                $entry.defaultValue | Should -Not -Be 'None' -Because "-$($parameter.Name) has a default"
            }
        }
    }

    It 'renders with Get-Help -Full' {
        $text = Get-Help $Name -Full | Out-String -Width 120
        $text | Should -Match 'SYNOPSIS'
        foreach ($parameter in $parameters) { $text | Should -Match "-$($parameter.Name)" }
        $text | Should -Match 'Example 1:'
    }
}

Describe 'The help pages' {
    It 'document only cmdlets the module exports' {
        $exported = (Get-Command -Module PerUserMfa -CommandType Cmdlet).Name
        foreach ($file in Get-ChildItem $docs -Filter '*.md' | Where-Object BaseName -NotLike 'about_*') {
            $exported | Should -Contain $file.BaseName -Because "$($file.Name) documents a cmdlet"
        }
    }

    It 'cover the scenarios admins need: <Scenario>' -TestCases @(
        @{ Scenario = 'a CSV report'; Pattern = 'Export-Csv' }
        @{ Scenario = 'the pipeline from Get-MgUser'; Pattern = 'Get-MgUser\b[^\n]*\n?\s*\|?\s*(Get|Set)-PerUserMfaState|Get-MgUser[\s\S]*\|\s*(Get|Set)-PerUserMfaState' }
        @{ Scenario = 'a bulk change with -WhatIf'; Pattern = 'Set-PerUserMfaState[^\n]*-WhatIf' }
        @{ Scenario = 'an Azure Automation runbook'; Pattern = 'Connect-PerUserMfa -Identity' }
    ) {
        $code = foreach ($name in 'Get-PerUserMfaState', 'Set-PerUserMfaState') {
            (Get-Help $name -Full).examples.example | ForEach-Object { $_.code }
        }
        ($code -join "`n`n") | Should -Match $Pattern
    }

    It 'include an about_PerUserMfa topic that Get-Help finds' {
        $moduleDir = Split-Path $env:PUMFA_TEST_MODULE
        Test-Path (Join-Path $moduleDir 'en-US/about_PerUserMfa.help.txt') | Should -BeTrue
        $about = Get-Help about_PerUserMfa | Out-String
        $about | Should -Match 'SHORT DESCRIPTION'
        $about | Should -Match 'Get-PerUserMfaState'
    }

    It 'has an about_PerUserMfa that names every cmdlet and connects the way the README does' {
        $about = Get-Help about_PerUserMfa | Out-String
        foreach ($name in (Get-Command -Module PerUserMfa -CommandType Cmdlet).Name) { $about | Should -Match $name }
        $about | Should -Match 'Connect-MgGraph'
        $about | Should -Not -Match 'with an access token;'
    }

    It 'gives -ThrottleLimit and -SignInDays their defaults' {
        (Get-Help Get-PerUserMfaState -Parameter ThrottleLimit).defaultValue | Should -Be '5000'
        (Get-Help Get-PerUserMfaState -Parameter SignInDays).defaultValue | Should -Be '30'
    }

    It 'keeps no example''s whole tenant in a variable (the README''s memory advice)' {
        foreach ($name in (Get-Command -Module PerUserMfa -CommandType Cmdlet).Name) {
            foreach ($example in @((Get-Help $name -Full).examples.example)) {
                $example.code | Should -Not -Match '(?m)\$\w+\s*=\s*Get-PerUserMfaState\b[^|\n]*-All\b[^|\n]*$' -Because "$name $($example.title)"
            }
        }
    }

    It 'says in the help that an Azure Automation job deletes the default journal folder' {
        $text = Get-Help Set-PerUserMfaState -Parameter JournalPath | Out-String
        $text | Should -Match 'Azure Automation'
        $text | Should -Match 'deleted when the job ends'
    }
}
