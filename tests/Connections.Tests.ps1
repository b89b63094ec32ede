#Requires -Modules Pester
<#
    Connections belong to a runspace: three simulators stand for three tenants, each read from its
    own ForEach-Object -Parallel runspace at the same time, and every row must come from the tenant
    that runspace connected to. The runspace that started them keeps its own connection.
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    # Different seeds: different users, ids and states per tenant.
    $script:tenants = foreach ($seed in 41, 42, 43) {
        $sim = Start-GraphSim -Users 150 -Seed $seed
        [pscustomobject]@{
            Sim   = $sim
            Url   = $sim.Url
            Token = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
            Truth = @{}
        }
    }
    foreach ($tenant in $tenants) {
        # Get-SimUser writes the users as one array: the first ForEach-Object unrolls it.
        Get-SimUser -Sim $tenant.Sim | ForEach-Object { $_ } | ForEach-Object { $tenant.Truth[$_.id] = $_ }
    }
}

AfterAll {
    Disconnect-PerUserMfa
    foreach ($tenant in $tenants) { Stop-GraphSim $tenant.Sim }
}

Describe 'One connection per runspace' {
    It 'reads three tenants in parallel runspaces, each row from its own tenant' {
        $module = $env:PUMFA_TEST_MODULE
        # The caller's own connection, to the first tenant, must survive the parallel runs.
        Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $tenants[0].Token -AsPlainText -Force) -GraphEndpoint $tenants[0].Url

        $rows = $tenants | ForEach-Object -ThrottleLimit 3 -Parallel {
            Import-Module $using:module
            $tenant = $_
            Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $tenant.Token -AsPlainText -Force) -GraphEndpoint $tenant.Url
            # Several reads each, so the runspaces' jobs overlap.
            foreach ($round in 1..3) {
                Get-PerUserMfaState -All | Add-Member -NotePropertyName Tenant -NotePropertyValue $tenant.Url -PassThru
            }
            Disconnect-PerUserMfa
        }

        foreach ($tenant in $tenants) {
            $mine = @($rows | Where-Object Tenant -EQ $tenant.Url)
            $mine.Count | Should -Be (3 * $tenant.Truth.Count)
            foreach ($row in $mine) {
                $truth = $tenant.Truth[$row.Id]
                $truth | Should -Not -BeNullOrEmpty -Because "$($row.Id) was read through $($tenant.Url)"
                $row.UserPrincipalName | Should -Be $truth.userPrincipalName
                $row.PerUserMfaState.ToString() | Should -Be $truth.perUserMfaState
            }
        }
        (Get-PerUserMfaConnection).GraphEndpoint | Should -BeLike "$($tenants[0].Url)*"
        @(Get-PerUserMfaState -All).Count | Should -Be $tenants[0].Truth.Count
    }

    It 'leaves a new runspace unconnected' {
        $module = $env:PUMFA_TEST_MODULE
        $answer = Start-ThreadJob { Import-Module $using:module; try { Get-PerUserMfaState -All; 'read' } catch { $_.FullyQualifiedErrorId } } |
            Receive-Job -Wait -AutoRemoveJob
        $answer | Should -BeLike 'PerUserMfa.NotConnected*'
    }
}
