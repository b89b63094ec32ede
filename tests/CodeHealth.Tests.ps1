#Requires -Modules Pester
<#
    The PowerShell side of the code-health gates (PSScriptAnalyzer is not available to the
    project, so these rules read the PowerShell parser's syntax tree directly):

    - every .ps1/.psm1 in the repository parses;
    - scripts call commands by name, never by alias (`%`, `?`, `ls`, `sort`...: aliases differ
      between Windows PowerShell, PowerShell on Windows and PowerShell on Linux/macOS);
    - every function under build/ has comment-based help;
    - files that run on Windows PowerShell 5.1 (everything without `#Requires -Version 6` or
      later, or `-PSEdition Core`) use neither PowerShell 7 syntax (`? :`, `??`, `&&`, `?.`)
      nor .NET Core-only APIs, except inside a block tagged 'DotNetCore' (tests/Invoke-PesterSuite.ps1
      leaves those out on Windows PowerShell) or behind an explicit edition or feature check.

    Needs neither the module nor the simulator: .ci/run runs it before anything is built. Tagged
    DotNetCore: the rules need PowerShell 7's parser (5.1's has no node types for 7's syntax).
#>

BeforeDiscovery {
    $script:repoRoot = Split-Path $PSScriptRoot
    # Generated, vendored or build output: not the project's scripts.
    $skip = '[\\/](\.git|out|target|bin|obj|node_modules)[\\/]'
    $script:scriptFiles = @(Get-ChildItem $repoRoot -Recurse -File -Include '*.ps1', '*.psm1' |
            Where-Object { $_.FullName.Substring($repoRoot.Length) -notmatch $skip } |
            Sort-Object FullName |
            ForEach-Object { @{ Path = $_.FullName.Substring($repoRoot.Length + 1).Replace('\', '/'); FullName = $_.FullName } })
    $script:buildFiles = @($scriptFiles | Where-Object { $_.Path -like 'build/*' })
}

BeforeAll {
    $script:repoRoot = Split-Path $PSScriptRoot

    function script:Read-ScriptAst([string] $Path) {
        $tokens = $null; $errors = $null
        $tree = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        [pscustomobject]@{ Ast = $tree; Errors = @($errors) }
    }

    function script:Format-Finding($Node, [string] $Path, [string] $What) {
        "${Path}:$($Node.Extent.StartLineNumber): $What ($($Node.Extent.Text -replace '\s+', ' '))"
    }

    # Aliases of this session plus those that exist only on Windows (PowerShell 7 on Linux and
    # macOS drops ls, cat, sort... so that the native commands win; Windows PowerShell 5.1 adds
    # curl and wget).
    $script:aliases = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
    foreach ($name in @(Get-Alias | ForEach-Object Name) + @('ac', 'cat', 'clear', 'compare', 'cp', 'cpp', 'curl', 'diff',
            'kill', 'lp', 'ls', 'man', 'mount', 'mv', 'ps', 'rm', 'rmdir', 'sleep', 'sort', 'start', 'tee', 'wget', 'write')) {
        $null = $aliases.Add($name)
    }

    function script:Find-AliasUse($Tree, [string] $Path) {
        foreach ($command in $Tree.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true)) {
            $name = $command.GetCommandName()
            if ($name -and $command.InvocationOperator -eq 'Unknown' -and $aliases.Contains($name)) {
                Format-Finding $command $Path "alias '$name' (write the command's full name)"
            }
        }
    }

    function script:Find-FunctionWithoutHelp($Tree, [string] $Path) {
        foreach ($function in $Tree.FindAll({ $args[0] -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
            $help = $function.GetHelpContent()
            if (-not $help -or -not ($help.Synopsis -or $help.Description)) {
                "${Path}:$($function.Extent.StartLineNumber): function $($function.Name) has no comment-based help (.SYNOPSIS)"
            }
        }
    }

    function script:Test-RunsOnlyOnCore($Tree) {
        # True when the file says it needs PowerShell 6+ (or Core) and so never runs on 5.1.
        $requires = $Tree.ScriptRequirements
        if (-not $requires) { return $false }
        ($requires.RequiredPSVersion -and $requires.RequiredPSVersion.Major -ge 6) -or
            (@($requires.RequiredPSEditions) -contains 'Core')
    }

    # Members that .NET Framework 4.7.2/4.8 does not have (Windows PowerShell 5.1 runs on it).
    # Extend the list when one more turns up; Kill is listed for its (entireProcessTree) overload.
    $script:coreOnlyMembers = @{
        ExportCertificatePem = '.NET 7'; ExportPkcs8PrivateKeyPem = '.NET 7'; ExportRSAPrivateKeyPem = '.NET 7'
        ExportSubjectPublicKeyInfoPem = '.NET 7'; ExportPkcs8PrivateKey = '.NET Core 3.0'; ExportRSAPrivateKey = '.NET Core 3.0'
        ExportSubjectPublicKeyInfo = '.NET Core 3.0'; ImportPkcs8PrivateKey = '.NET Core 3.0'; ImportRSAPrivateKey = '.NET Core 3.0'
        ImportFromPem = '.NET 5'; CreateFromPem = '.NET 5'; CreateFromPemFile = '.NET 5'
        ArgumentList = '.NET Core 2.1'; GetRelativePath = '.NET Core 2.0'; CreateTempSubdirectory = '.NET 7'
        ToHexString = '.NET 5'; FromHexString = '.NET 5'; WaitForExitAsync = '.NET 5'
        ReadAllTextAsync = '.NET Core 2.0'; WriteAllTextAsync = '.NET Core 2.0'; ReadAllBytesAsync = '.NET Core 2.0'
        WriteAllBytesAsync = '.NET Core 2.0'; ReadAllLinesAsync = '.NET Core 2.0'
    }
    # Automatic variables from PowerShell 6. On 5.1 (always Windows) they are unset: $IsLinux,
    # $IsMacOS and $IsCoreCLR then read as false, which is right, unless strict mode makes reading
    # an unset variable an error; $IsWindows reads as false, which is wrong.
    $script:coreOnlyVariables = @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR')

    function script:Get-PesterTag($Command) {
        # The values given to -Tag (or -Tags) of a Describe/Context/It command.
        $elements = @($Command.CommandElements)
        for ($i = 0; $i -lt $elements.Count; $i++) {
            $element = $elements[$i]
            if ($element -isnot [System.Management.Automation.Language.CommandParameterAst] -or $element.ParameterName -notmatch '^Tags?$') { continue }
            $value = if ($element.Argument) { $element.Argument } elseif ($i + 1 -lt $elements.Count) { $elements[$i + 1] }
            if ($value) {
                $value.FindAll({ $args[0] -is [System.Management.Automation.Language.StringConstantExpressionAst] }, $true) | ForEach-Object Value
            }
        }
    }

    function script:Test-DotNetCoreBlock($Node) {
        # Inside the script block of a Describe/Context/It tagged 'DotNetCore', or inside an if
        # whose condition checks the edition or probes for the member (PSObject.Properties[...]).
        for ($parent = $Node.Parent; $parent; $parent = $parent.Parent) {
            if ($parent -is [System.Management.Automation.Language.CommandAst] -and
                $parent.GetCommandName() -in 'Describe', 'Context', 'It' -and
                (Get-PesterTag $parent) -contains 'DotNetCore') { return $true }
            if ($parent -is [System.Management.Automation.Language.IfStatementAst]) {
                foreach ($clause in $parent.Clauses) {
                    if ($clause.Item1.Extent.Text -match 'PSEdition|IsCoreCLR|PSObject\.Properties\[') { return $true }
                }
            }
        }
        $false
    }

    function script:Find-DesktopIncompatibility($Tree, [string] $Path) {
        if (Test-RunsOnlyOnCore $Tree) { return }
        $syntax = $Tree.FindAll({
                $node = $args[0]
                $node -is [System.Management.Automation.Language.TernaryExpressionAst] -or
                $node -is [System.Management.Automation.Language.PipelineChainAst] -or
                ($node -is [System.Management.Automation.Language.BinaryExpressionAst] -and $node.Operator -eq 'QuestionQuestion') -or
                ($node -is [System.Management.Automation.Language.AssignmentStatementAst] -and $node.Operator -eq 'QuestionQuestionEquals') -or
                ($node -is [System.Management.Automation.Language.MemberExpressionAst] -and $node.NullConditional) -or
                ($node -is [System.Management.Automation.Language.IndexExpressionAst] -and $node.NullConditional)
            }, $true)
        foreach ($node in $syntax) {
            Format-Finding $node $Path 'PowerShell 7 syntax, a parse error on Windows PowerShell 5.1 (or add #Requires -Version 7.2 if the file never runs there)'
        }
        foreach ($member in $Tree.FindAll({ $args[0] -is [System.Management.Automation.Language.MemberExpressionAst] }, $true)) {
            $name = if ($member.Member -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $member.Member.Value }
            if (-not $name) { continue }
            $coreOnly = $coreOnlyMembers.ContainsKey($name) -or
                ($name -eq 'Kill' -and $member -is [System.Management.Automation.Language.InvokeMemberExpressionAst] -and $member.Arguments -and $member.Arguments.Count -gt 0)
            if ($coreOnly -and -not (Test-DotNetCoreBlock $member)) {
                $since = if ($coreOnlyMembers.ContainsKey($name)) { $coreOnlyMembers[$name] } else { '.NET Core 3.0' }
                Format-Finding $member $Path "$name needs $since; tag the test -Tag 'DotNetCore', check the edition, or use what .NET Framework 4.7.2 has"
            }
        }
        $strict = $null -ne $Tree.Find({ $args[0] -is [System.Management.Automation.Language.CommandAst] -and $args[0].GetCommandName() -eq 'Set-StrictMode' }, $true)
        foreach ($variable in $Tree.FindAll({ $args[0] -is [System.Management.Automation.Language.VariableExpressionAst] }, $true)) {
            if ($variable.VariablePath.UserPath -notin $coreOnlyVariables) { continue }
            if (-not $strict -and $variable.VariablePath.UserPath -ne 'IsWindows') { continue }
            # $IsWindows is $null on 5.1: fine next to an edition check in the same statement.
            $statement = $variable
            while ($statement.Parent -and $statement -isnot [System.Management.Automation.Language.StatementAst]) { $statement = $statement.Parent }
            $guarded = $statement.Extent.Text -match 'PSEdition' -or (Test-DotNetCoreBlock $variable)
            if (-not $guarded) {
                Format-Finding $variable $Path "`$$($variable.VariablePath.UserPath) is not set on Windows PowerShell 5.1 (write `$PSVersionTable.PSEdition -eq 'Desktop' -or `$IsWindows, or check the edition first)"
            }
        }
    }
}

Describe 'PowerShell scripts' -Tag 'DotNetCore' {
    It '<Path> parses' -TestCases $scriptFiles {
        $parsed = Read-ScriptAst $FullName
        @($parsed.Errors | ForEach-Object { "${Path}:$($_.Extent.StartLineNumber): $($_.Message)" }) | Should -BeNullOrEmpty
    }

    It '<Path> calls no command by an alias' -TestCases $scriptFiles {
        @(Find-AliasUse (Read-ScriptAst $FullName).Ast $Path) | Should -BeNullOrEmpty
    }

    It '<Path> runs on Windows PowerShell 5.1 or says it does not' -TestCases $scriptFiles {
        @(Find-DesktopIncompatibility (Read-ScriptAst $FullName).Ast $Path) | Should -BeNullOrEmpty
    }
}

Describe 'Build scripts' -Tag 'DotNetCore' {
    It 'every function in <Path> has comment-based help' -TestCases $buildFiles {
        @(Find-FunctionWithoutHelp (Read-ScriptAst $FullName).Ast $Path) | Should -BeNullOrEmpty
    }
}

Describe 'Examples for Windows PowerShell 5.1' {
    BeforeAll {
        function script:Get-ExampleCode {
            # Every PowerShell example: the ```powershell blocks of README.md and the help pages,
            # and the scripts under examples/.
            $markdown = @(Get-Item (Join-Path $repoRoot 'README.md')) + @(Get-ChildItem (Join-Path $repoRoot 'docs/help') -Filter '*.md')
            foreach ($file in $markdown) {
                $text = [System.IO.File]::ReadAllText($file.FullName)
                foreach ($block in [regex]::Matches($text, '(?ms)^[ \t]*```powershell[ \t]*\r?\n(.*?)^[ \t]*```')) {
                    [pscustomobject]@{ Source = $file.Name; Code = $block.Groups[1].Value }
                }
            }
            foreach ($file in Get-ChildItem (Join-Path $repoRoot 'examples') -Filter '*.ps1' -ErrorAction SilentlyContinue) {
                [pscustomobject]@{ Source = "examples/$($file.Name)"; Code = [System.IO.File]::ReadAllText($file.FullName) }
            }
        }
    }

    It 'every Export-Csv example passes -Encoding UTF8 (5.1 writes ANSI, and non-ASCII names turn into ?)' {
        $found = 0
        $missing = foreach ($example in Get-ExampleCode) {
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($example.Code, [ref]$null, [ref]$null)
            foreach ($command in $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] -and $args[0].GetCommandName() -eq 'Export-Csv' }, $true)) {
                $found++
                $encoding = @($command.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] -and $_.ParameterName -eq 'Encoding' })
                if (-not $encoding) { "$($example.Source): $($command.Extent.Text)" }
            }
        }
        $found | Should -BeGreaterThan 3 -Because 'the README and the help show Export-Csv'
        @($missing) | Should -BeNullOrEmpty
    }

    It 'the README tells 5.1 users about TLS 1.2 and the NuGet provider, Unblock-File and the 32-bit PowerShell' {
        $readme = [System.IO.File]::ReadAllText((Join-Path $repoRoot 'README.md'))
        $readme | Should -Match '\[Net\.SecurityProtocolType\]::Tls12'
        $readme | Should -Match 'Install-PackageProvider -Name NuGet'
        $readme | Should -Match 'Unblock-File'
        $readme | Should -Match '\(x86\)'
    }
}

Describe 'The rules themselves' -Tag 'DotNetCore' {
    # Each rule is shown a small script it must reject, so a rule that stopped matching fails here.
    BeforeAll {
        function script:Read-Sample([string] $Text) { [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref]$null, [ref]$null) }
    }

    It 'finds aliases: <Text>' -TestCases @(
        @{ Text = 'Get-ChildItem | % Name' }, @{ Text = 'Get-Process | ? CPU' }, @{ Text = 'ls ./tests' }, @{ Text = '1, 2 | sort' }
    ) {
        @(Find-AliasUse (Read-Sample $Text) 'sample.ps1').Count | Should -Be 1
    }

    It 'accepts full command names' {
        @(Find-AliasUse (Read-Sample 'Get-ChildItem | ForEach-Object Name | Sort-Object; & $command') 'sample.ps1') | Should -BeNullOrEmpty
    }

    It 'finds a function without help, and accepts one with it' {
        @(Find-FunctionWithoutHelp (Read-Sample "function Get-Thing {`n    # a comment is not help`n    1`n}") 'sample.ps1').Count | Should -Be 1
        @(Find-FunctionWithoutHelp (Read-Sample "function Get-Thing {`n    <# .SYNOPSIS`n    Gets the thing. #>`n    1`n}") 'sample.ps1') | Should -BeNullOrEmpty
    }

    It 'finds what Windows PowerShell 5.1 lacks: <Text>' -TestCases @(
        @{ Text = '$process.Kill($true)' }
        @{ Text = '$key.ExportPkcs8PrivateKeyPem()' }
        @{ Text = '$certificate.ExportCertificatePem()' }
        @{ Text = '[System.IO.Path]::GetRelativePath($a, $b)' }
        @{ Text = 'if ($IsWindows) { 1 }' }
        @{ Text = "Set-StrictMode -Version 3.0`nif (`$IsMacOS) { 1 }" }
        @{ Text = '$a = $b ? 1 : 2' }
        @{ Text = '$a = $b ?? 2' }
        @{ Text = 'git status && git log' }
        @{ Text = "Describe 'x' { It 'y' { `$rsa.ExportRSAPrivateKey() } }" }
    ) {
        @(Find-DesktopIncompatibility (Read-Sample $Text) 'sample.ps1').Count | Should -Be 1
    }

    It 'accepts the same inside a DotNetCore-tagged test, after an edition check, or in a file that needs PowerShell 7' {
        $samples = @(
            "Describe 'x' { It 'y' -Tag 'DotNetCore' { `$rsa.ExportRSAPrivateKey() } }"
            "Describe 'x' -Tag 'DotNetCore' { It 'y' { `$process.Kill(`$true) } }"
            "if (`$PSVersionTable.PSEdition -eq 'Core') { `$process.Kill(`$true) }"
            "if (`$startInfo.PSObject.Properties['ArgumentList']) { `$startInfo.ArgumentList.Add('x') }"
            "`$onWindows = `$PSVersionTable.PSEdition -eq 'Desktop' -or `$IsWindows"
            "#Requires -Version 7.2`n`$a = `$b ? 1 : 2; `$process.Kill(`$true)"
            '$process.Kill()'
            'if ($IsMacOS) { 1 }'
        )
        foreach ($text in $samples) { @(Find-DesktopIncompatibility (Read-Sample $text) 'sample.ps1') | Should -BeNullOrEmpty -Because $text }
    }
}
