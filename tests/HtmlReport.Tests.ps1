#Requires -Modules Pester
<#
    Export-PerUserMfaReport end to end: Get-PerUserMfaState output from graph-sim written
    as one self-contained HTML file, checked against the simulator's ground truth; and synthetic
    -Detailed-shaped objects (PerUserMfa.UserReport) for the summary's detailed parts.
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:sim = Start-GraphSim -Users 300 -Seed 41
    $script:truth = @(Get-SimUser -Sim $sim | ForEach-Object { $_ })
    Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url

    function script:Get-Metric([string] $Html, [string] $Name) {
        $match = [regex]::Match($Html, 'data-metric="' + [regex]::Escape($Name) + '"[^>]*>([^<]*)<')
        if (-not $match.Success) { throw "metric $Name is not in the report" }
        [int]($match.Groups[1].Value -replace ',', '')
    }
    # The report's escaping: & < > " ' only (the file is UTF-8, other characters are written as they are).
    function script:ConvertTo-HtmlText([string] $Text) {
        $Text.Replace('&', '&amp;').Replace('<', '&lt;').Replace('>', '&gt;').Replace('"', '&quot;').Replace("'", '&#39;')
    }
    function script:Get-NameList([string] $Html, [string] $Id) {
        [regex]::Match($Html, 'id="' + [regex]::Escape($Id) + '"[\s\S]*?</details>').Value
    }
    function script:Assert-SelfContained([string] $Html) {
        $Html | Should -Not -Match '(?i)(src|href)\s*=\s*["'']?\s*(https?:|//)'
        $Html | Should -Not -Match '(?i)@import|url\('
        $Html | Should -Not -Match '(?i)<(link|iframe|img|object|embed)\b'
        # Only the report's own two script elements (data and code).
        ([regex]::Matches($Html, '(?i)<script')).Count | Should -Be 2
    }
    function script:New-DetailedUser {
        param([int] $N, [string] $State, [bool] $Admin, [bool] $Registered, [int] $PasswordAge, $LastMfa, [string] $Name)
        $now = [datetime]::UtcNow
        [pscustomobject]@{
            PSTypeName                    = 'PerUserMfa.UserReport'
            UserPrincipalName             = "user$N@contoso.com"
            DisplayName                   = if ($Name) { $Name } else { "User $N" }
            Id                            = [guid]::NewGuid().ToString()
            PerUserMfaState               = $State
            UserType                      = 'Member'
            AccountEnabled                = $true
            IsLicensed                    = $true
            IsAdmin                       = $Admin
            IsMfaRegistered               = $Registered
            IsMfaCapable                  = $Registered
            MethodsRegistered             = if ($Registered) { 'microsoftAuthenticatorPush, mobilePhone' } else { '' }
            DefaultMfaMethod              = if ($Registered) { 'microsoftAuthenticatorPush' } else { $null }
            PreferredMfaMethod            = $null
            LastSignIn                    = $now.AddDays(-2)
            LastSuccessfulSignIn          = $now.AddDays(-2)
            DaysSinceLastSignIn           = 2
            DaysSinceLastSuccessfulSignIn = 2
            SignInSessionsValidFrom       = $now.AddDays(-100)
            PasswordLastChanged           = $now.AddDays(-$PasswordAge)
            PasswordAgeDays               = $PasswordAge
            PasswordPolicies              = 'None'
            PasswordNeverExpires          = $false
            LastMfaSignIn                 = $LastMfa
            DaysSinceLastMfaSignIn        = if ($LastMfa) { [int]($now - $LastMfa).TotalDays } else { $null }
        }
    }
}

AfterAll {
    Disconnect-PerUserMfa
    Stop-GraphSim $sim
}

Describe 'Export-PerUserMfaReport from Get-PerUserMfaState -All' {
    BeforeAll {
        $script:path = Join-Path $TestDrive 'r.html'
        $script:file = Get-PerUserMfaState -All | Export-PerUserMfaReport -Path $path -TenantName 'Contoso' -PassThru
        $script:html = [System.IO.File]::ReadAllText($path)
    }

    It 'writes the file and -PassThru emits its FileInfo' {
        $file | Should -BeOfType ([System.IO.FileInfo])
        $file.FullName | Should -Be (Resolve-Path $path).Path
        $html | Should -Match '^<!DOCTYPE html>'
        $html | Should -Match 'data-metric="tenant">Contoso<'
    }

    It 'states its scope: every user in the tenant' {
        $html | Should -Match ('data-metric="scope">every user in the tenant, ' + $truth.Count + ' accounts \(Get-PerUserMfaState -All\)<')
    }

    It 'counts users and states as the simulator holds them' {
        Get-Metric $html 'users' | Should -Be $truth.Count
        foreach ($state in 'disabled', 'enabled', 'enforced') {
            $expected = @($truth | Where-Object perUserMfaState -EQ $state).Count
            Get-Metric $html "state-$state" | Should -Be $expected -Because "$state users in the simulator"
        }
    }

    It 'lists every Enabled/Enforced account by name' {
        $list = Get-NameList $html 'list-per-user-mfa'
        $on = @($truth | Where-Object perUserMfaState -In 'enabled', 'enforced')
        $list | Should -Match ('data-count="' + $on.Count + '"')
        foreach ($user in $on | Select-Object -First 20) {
            $list | Should -Match ([regex]::Escape((ConvertTo-HtmlText $user.userPrincipalName)))
        }
    }

    It 'shows the <script> display name as text, never raw' {
        $html | Should -Not -Match '<script>alert\(1\)</script>'
        $html | Should -Match ([regex]::Escape('&lt;script&gt;alert(1)&lt;/script&gt;'))
        $html | Should -Match ([regex]::Escape('\u003cscript\u003ealert(1)\u003c/script\u003e'))
    }

    It 'highlights Enabled and Enforced rows, and only those' {
        $rows = [regex]::Matches($html, '<tr class="([^"]*)">(.*?)</tr>')
        $rows.Count | Should -Be $truth.Count
        $byUpn = @{}
        foreach ($user in $truth) { $byUpn[(ConvertTo-HtmlText $user.userPrincipalName)] = $user.perUserMfaState }
        foreach ($row in $rows) {
            $upn = [regex]::Match($row.Groups[2].Value, '<td>([^<]*)</td>').Groups[1].Value
            $byUpn.ContainsKey($upn) | Should -BeTrue -Because "row for $upn"
            $highlighted = ($row.Groups[1].Value -split ' ') -contains 'hl'
            $highlighted | Should -Be ($byUpn[$upn] -in 'enabled', 'enforced') -Because "$upn is $($byUpn[$upn])"
        }
    }

    It 'is self-contained: no external references' {
        Assert-SelfContained $html
    }

    It 'draws the state chart as inline SVG' {
        $svg = [regex]::Match($html, '<svg id="chart-state"[\s\S]*?</svg>').Value
        $svg | Should -Not -BeNullOrEmpty
        $xml = [xml]$svg
        $xml.svg.title.'#text' | Should -BeLike 'Per-user MFA state:*'
    }
}

Describe 'Export-PerUserMfaReport with -Detailed-shaped objects' {
    BeforeAll {
        $now = [datetime]::UtcNow
        $script:users = @(
            New-DetailedUser -N 1 -State 'Disabled' -Admin $true -Registered $false -PasswordAge 400 -LastMfa $null -Name 'Admin Without MFA'
            New-DetailedUser -N 2 -State 'Enforced' -Admin $true -Registered $true -PasswordAge 10 -LastMfa $now.AddDays(-1)
            New-DetailedUser -N 3 -State 'Enabled' -Admin $false -Registered $false -PasswordAge 800 -LastMfa $null
            New-DetailedUser -N 4 -State 'Disabled' -Admin $false -Registered $true -PasswordAge 30 -LastMfa $now.AddDays(-5)
            New-DetailedUser -N 5 -State 'Disabled' -Admin $false -Registered $true -PasswordAge 100 -LastMfa $now.AddDays(-9) -Name '<script>alert(1)</script>'
        )
        $script:path = Join-Path $TestDrive 'detailed.html'
        $users | Export-PerUserMfaReport -Path $path -Title 'Detailed <report>' -PasswordAgeThresholdDays 365
        $script:html = [System.IO.File]::ReadAllText($path)
    }

    It 'counts admins, registration, accounts without MFA methods, MFA sign-ins and old passwords' {
        Get-Metric $html 'users' | Should -Be 5
        Get-Metric $html 'admins' | Should -Be 2
        Get-Metric $html 'mfa-registered' | Should -Be 3
        $html | Should -Match 'data-share="mfa-registered">60%<'
        Get-Metric $html 'no-mfa-method' | Should -Be 2
        Get-Metric $html 'admins-no-mfa-method' | Should -Be 1
        Get-Metric $html 'no-mfa-sign-in' | Should -Be 2
        Get-Metric $html 'old-passwords' | Should -Be 2
    }

    It 'names the admins with no MFA method' {
        $list = Get-NameList $html 'list-admins-no-mfa-method'
        $list | Should -Match 'Admin Without MFA \(user1@contoso.com\)'
        $list | Should -Not -Match 'user3@contoso.com'
    }

    It 'escapes the title and display names' {
        $html | Should -Match '<h1>Detailed &lt;report&gt;</h1>'
        $html | Should -Not -Match '<script>alert\(1\)</script>'
        Assert-SelfContained $html
    }

    It 'reads Import-Csv rows (every value a string) the same way' {
        $csv = Join-Path $TestDrive 'detailed.csv'
        $users | Export-Csv $csv -NoTypeInformation -Encoding utf8
        $again = Join-Path $TestDrive 'from-csv.html'
        Import-Csv $csv | Export-PerUserMfaReport -Path $again
        $fromCsv = [System.IO.File]::ReadAllText($again)
        foreach ($metric in 'users', 'admins', 'mfa-registered', 'no-mfa-method', 'admins-no-mfa-method', 'no-mfa-sign-in', 'old-passwords', 'state-enabled') {
            Get-Metric $fromCsv $metric | Should -Be (Get-Metric $html $metric) -Because $metric
        }
    }
}

Describe 'Export-PerUserMfaReport paths' {
    It 'stops with a clear error when the folder does not exist' {
        $missing = Join-Path $TestDrive 'no-such-folder/r.html'
        $caught = $null
        try { Get-PerUserMfaState -UserId 'adele.vance@contoso.com' | Export-PerUserMfaReport -Path $missing } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.ReportFolderNotFound*'
        $caught.Exception.Message | Should -BeLike '*no-such-folder*does not exist*'
        Test-Path $missing | Should -BeFalse
    }

    It 'writes nothing with -WhatIf, and overwrites an existing file otherwise' {
        $path = Join-Path $TestDrive 'existing.html'
        Set-Content -LiteralPath $path -Value 'old'
        [pscustomobject]@{ UserPrincipalName = 'a@contoso.com'; PerUserMfaState = 'Enabled' } | Export-PerUserMfaReport -Path $path -WhatIf
        Get-Content -LiteralPath $path -Raw | Should -Match '^old'
        [pscustomobject]@{ UserPrincipalName = 'a@contoso.com'; PerUserMfaState = 'Enabled' } | Export-PerUserMfaReport -Path $path
        Get-Content -LiteralPath $path -Raw | Should -Match '^<!DOCTYPE html>'
    }

    It 'reports an object that names no user and writes the rest' {
        $path = Join-Path $TestDrive 'mixed.html'
        $errors = $null
        @('just a string', [pscustomobject]@{ UserPrincipalName = 'b@contoso.com'; PerUserMfaState = 'Disabled' }) |
            Export-PerUserMfaReport -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.ReportInputNotAUser*'
        Get-Metric ([System.IO.File]::ReadAllText($path)) 'users' | Should -Be 1
    }

    It 'takes only users: Get-Process gets one error saying what the report takes, one warning for the rest, and no file' {
        $path = Join-Path $TestDrive 'processes.html'
        $errors = $null
        $warned = $null
        Get-Process | Select-Object -First 5 | Export-PerUserMfaReport -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue -WarningVariable warned -WarningAction SilentlyContinue
        $errors.Count | Should -Be 2
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.ReportInputNotAUser*'
        $errors[0].Exception.Message | Should -BeLike '*PerUserMfaState and UserPrincipalName or Id*System.Diagnostics.Process*'
        $errors[1].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.ReportInputEmpty*'
        "$warned" | Should -BeLike '4 more input objects were not users*'
        Test-Path -LiteralPath $path | Should -BeFalse
    }

    It 'writes no empty report for empty input, and says why' {
        $path = Join-Path $TestDrive 'empty.html'
        $errors = $null
        @() | Export-PerUserMfaReport -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.ReportInputEmpty*'
        $errors[0].Exception.Message | Should -BeLike '*No users were given*'
        Test-Path -LiteralPath $path | Should -BeFalse
    }
}

Describe 'Export-PerUserMfaReport says which accounts it covers, and in which tenant' {
    It 'names the licensed member scope and the connected tenant when -TenantName is not given' {
        $path = Join-Path $TestDrive 'licensed.html'
        $licensed = @($truth | Where-Object { $_.userType -eq 'Member' -and @($_.assignedLicenses).Count -gt 0 })
        Get-PerUserMfaState 6>$null | Export-PerUserMfaReport -Path $path
        $html = [System.IO.File]::ReadAllText($path)
        $html | Should -Match ('data-metric="scope">the ' + $licensed.Count + ' accounts of the licensed member listing[^<]*guests and unlicensed accounts are not in this report<')
        $html | Should -Match ('data-metric="tenant">' + [regex]::Escape((Get-PerUserMfaConnection).TenantId) + '<')
    }

    It 'says when the report holds a selection of a listing' {
        $path = Join-Path $TestDrive 'selection.html'
        Get-PerUserMfaState -All | Where-Object PerUserMfaState -NE 'Disabled' | Export-PerUserMfaReport -Path $path
        [System.IO.File]::ReadAllText($path) | Should -Match 'data-metric="scope">\d+ accounts selected from every user in the tenant'
    }

    It 'says the accounts were given when they came from elsewhere' {
        $path = Join-Path $TestDrive 'given.html'
        [pscustomobject]@{ UserPrincipalName = 'a@contoso.com'; PerUserMfaState = 'Enabled' } | Export-PerUserMfaReport -Path $path
        [System.IO.File]::ReadAllText($path) | Should -Match 'data-metric="scope">the 1 account given to Export-PerUserMfaReport<'
    }
}

Describe 'Export-PerUserMfaReport with Test-PerUserMfaMigration output' {
    BeforeAll {
        # Adele is excluded from the all-users policy through a group (NotCovered); Miriam too, but the Office
        # policy reaches her (PartiallyCovered); Alex and Diego are covered. Names carry HTML specials.
        $scenario = @{
            name     = 'report-section'
            groups   = @(
                @{ id = 'grp-bg'; displayName = 'Break glass <ops> & co'; members = @('adele.vance@contoso.com', "miriam.o'brien@contoso.com") }
            )
            policies = @(
                @{
                    displayName   = 'Require MFA for all users'
                    state         = 'enabled'
                    conditions    = @{ users = @{ includeUsers = @('All'); excludeGroups = @('grp-bg') }; applications = @{ includeApplications = @('All') }; clientAppTypes = @('all') }
                    grantControls = @{ operator = 'OR'; builtInControls = @('mfa') }
                }
                @{
                    displayName   = 'MFA for Office <365>'
                    state         = 'enabled'
                    conditions    = @{ users = @{ includeUsers = @("miriam.o'brien@contoso.com", 'diego.siciliani@contoso.com') }; applications = @{ includeApplications = @('Office365') }; clientAppTypes = @('all') }
                    grantControls = @{ operator = 'OR'; builtInControls = @('mfa') }
                }
            )
        } | ConvertTo-Json -Depth 10
        $null = Invoke-RestMethod -Method Post -Uri "$($sim.Url)/_sim/scenario" -Body ([System.Text.Encoding]::UTF8.GetBytes($scenario)) -ContentType 'application/json'
        $roles = @(Get-ReadRoles) + @('Policy.Read.All', 'GroupMember.Read.All', 'RoleManagement.Read.Directory', 'LicenseAssignment.Read.All') | Select-Object -Unique
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles $roles) -GraphEndpoint $sim.Url
        $script:tested = @('adele.vance@contoso.com', 'alex.wilber@contoso.com', 'diego.siciliani@contoso.com', "miriam.o'brien@contoso.com")
        $script:checks = @(Test-PerUserMfaMigration -UserId $tested 6>$null)
        $script:path = Join-Path $TestDrive 'migration.html'
        $checks | Export-PerUserMfaReport -Path $path
        $script:html = [System.IO.File]::ReadAllText($path)
        $script:section = [regex]::Match($html, '<section id="migration"[\s\S]*?</section>\n<section aria-labelledby="users-h"').Value

        # The rows of the scripted table (the JSON the page's script reads).
        function script:Get-TableRows([string] $Html) {
            $json = [regex]::Match($Html, '<script type="application/json" id="report-data">([\s\S]*?)</script>').Groups[1].Value
            $data = $json | ConvertFrom-Json
            $keys = @($data.columns | ForEach-Object key)
            foreach ($row in $data.rows) {
                $object = [ordered]@{}
                for ($i = 0; $i -lt $keys.Count; $i++) { $object[$keys[$i]] = $row[$i] }
                [pscustomobject]$object
            }
        }
    }

    AfterAll {
        Connect-PerUserMfa -AccessToken (New-SimToken -Sim $sim -Roles (Get-ReadRoles)) -GraphEndpoint $sim.Url
    }

    It 'adds the Migration readiness section: verdict counts, a chart and the policies that cover people' {
        $checks.Count | Should -Be 4
        $section | Should -Not -BeNullOrEmpty
        Get-Metric $html 'users' | Should -Be 4
        Get-Metric $html 'verdict-Covered' | Should -Be 2
        Get-Metric $html 'verdict-PartiallyCovered' | Should -Be 1
        Get-Metric $html 'verdict-NotCovered' | Should -Be 1
        Get-Metric $html 'verdict-Unknown' | Should -Be 0
        $section | Should -Match '<svg id="chart-verdict"[^>]*role="img"'
        $section | Should -Match '<title id="chart-verdict-title">[^<]*Covered 2 \(50%\), PartiallyCovered 1 \(25%\), NotCovered 1 \(25%\), Unknown 0 \(0%\)<'
        $policies = [regex]::Match($section, '<table class="policies" id="policies-covering">[\s\S]*?</table>').Value
        $policies | Should -Match '<td>Require MFA for all users</td><td class="num" data-count="2">'
        $policies | Should -Match '<td>MFA for Office &lt;365&gt;</td><td class="num" data-count="2">'
        Assert-SelfContained $html
    }

    It 'names the accounts that would lose MFA with their reasons and gaps, HTML-encoded' {
        $notCovered = Get-NameList $section 'list-not-covered'
        $notCovered | Should -Match 'data-count="1"'
        $notCovered | Should -Match 'Adele Vance \(adele\.vance@contoso\.com\)'
        $notCovered | Should -Match ([regex]::Escape((ConvertTo-HtmlText "Excluded from 'Require MFA for all users' through group 'Break glass <ops> & co'")))
        $partial = Get-NameList $section 'list-partially-covered'
        $partial | Should -Match 'data-count="1"'
        $partial | Should -Match ([regex]::Escape((ConvertTo-HtmlText "Miriam O'Brien (miriam.o'brien@contoso.com)")))
        $partial | Should -Match ([regex]::Escape((ConvertTo-HtmlText "'MFA for Office <365>' covers only Office 365")))
        $partial | Should -Not -Match 'alex\.wilber'
        $html | Should -Not -Match '<ops>|<365>'
    }

    It 'shows the tenant-wide gaps of the run the checks came from' {
        $gaps = [regex]::Match($section, '<ul class="tenant" id="tenant-gaps"[\s\S]*?</ul>').Value
        $gaps | Should -Match '<li class="bad">No enabled policy blocks legacy authentication'
        $gaps | Should -Match '<li>Security defaults: off\.</li>'
    }

    It 'joins checks to Get-PerUserMfaState -Detailed rows by Id: one row per account, nobody lost' {
        # Detailed rows for three of the four; the fourth check stays a row of its own. Checks first, to show order does not matter.
        $detailed = @(Get-PerUserMfaState -UserId $tested[0..2] -Detailed -WarningAction SilentlyContinue)
        $detailed.Count | Should -Be 3
        $joinedPath = Join-Path $TestDrive 'joined.html'
        @($checks) + $detailed | Export-PerUserMfaReport -Path $joinedPath
        $joined = [System.IO.File]::ReadAllText($joinedPath)
        Get-Metric $joined 'users' | Should -Be 4
        Get-Metric $joined 'verdict-NotCovered' | Should -Be 1
        Get-Metric $joined 'verdict-Covered' | Should -Be 2
        $rows = @(Get-TableRows $joined)
        $rows.Count | Should -Be 4
        $adele = @($rows | Where-Object upn -EQ 'adele.vance@contoso.com')
        $adele.Count | Should -Be 1
        $adele[0].verdict | Should -Be 'NotCovered'
        # The detailed columns are on the same row as the verdict.
        $adele[0].PSObject.Properties.Name | Should -Contain 'registered'
        $adele[0].type | Should -Be ($detailed | Where-Object UserPrincipalName -EQ 'adele.vance@contoso.com').UserType
        $adele[0].type | Should -Not -BeNullOrEmpty
        ($rows | Where-Object upn -EQ "miriam.o'brien@contoso.com").verdict | Should -Be 'PartiallyCovered'
    }

    It 'takes checks alone from Import-Csv: same counts and lists; the tenant-wide part is said to be unknown' {
        $csv = Join-Path $TestDrive 'checks.csv'
        $checks | Export-Csv -LiteralPath $csv -NoTypeInformation -Encoding UTF8
        $fromCsvPath = Join-Path $TestDrive 'checks-csv.html'
        Import-Csv -LiteralPath $csv | Export-PerUserMfaReport -Path $fromCsvPath
        $fromCsv = [System.IO.File]::ReadAllText($fromCsvPath)
        foreach ($metric in 'users', 'verdict-Covered', 'verdict-PartiallyCovered', 'verdict-NotCovered', 'verdict-Unknown') {
            Get-Metric $fromCsv $metric | Should -Be (Get-Metric $html $metric) -Because $metric
        }
        Get-NameList $fromCsv 'list-partially-covered' | Should -Match ([regex]::Escape((ConvertTo-HtmlText "'MFA for Office <365>' covers only Office 365")))
        $fromCsv | Should -Match 'id="tenant-gaps-unknown"'
        $fromCsv | Should -Not -Match 'id="tenant-gaps"'
    }

    It 'has no migration section for users without a verdict' {
        $plain = Join-Path $TestDrive 'plain.html'
        [pscustomobject]@{ UserPrincipalName = 'a@contoso.com'; PerUserMfaState = 'Enabled' } | Export-PerUserMfaReport -Path $plain
        [System.IO.File]::ReadAllText($plain) | Should -Not -Match 'id="migration"'
    }
}
