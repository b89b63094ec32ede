#Requires -Modules Pester
<#
    Sign-in through the real stack against graph-sim's Entra ID and managed identity
    endpoints: every Connect-PerUserMfa parameter set, Get-PerUserMfaConnection, token refresh
    during a long run, one refresh and retry after a 401, the messages for refused sign-ins, the
    pre-flight permission warning, and a scan of every stream for secrets and tokens.

    All traffic stays on loopback: Entra ID is -AuthorityHost <simulator>, managed identity
    endpoints come from IDENTITY_ENDPOINT / MSI_ENDPOINT, and IMDS is reached only through the
    AZURE_POD_IDENTITY_AUTHORITY_HOST override (never 169.254.169.254).
#>

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:PUMFA_TEST_MODULE -Force
    $script:sim = Start-GraphSim -Users 160 -Seed 21
    $script:url = $sim.Url
    $script:readToken = New-SimToken -Sim $sim -Roles (Get-ReadRoles)
    $script:tenantGuid = (New-SimToken -Sim $sim -Roles @() -AsPlainText).Split('.')[1] | ForEach-Object {
        $p = $_.Replace('-', '+').Replace('_', '/'); $p += '=' * ((4 - $p.Length % 4) % 4)
        ([System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($p)) | ConvertFrom-Json).tid
    }
    $script:entra = @{ GraphEndpoint = $url; AuthorityHost = $url }
    $script:clientId = [guid]::NewGuid().ToString()
    $script:secretText = 'Pumfa~' + [guid]::NewGuid().ToString('N') + '.Sec'
    $script:secret = ConvertTo-SecureString $secretText -AsPlainText -Force
    $script:pfxPasswordText = 'pfx-' + [guid]::NewGuid().ToString('N')
    $script:identityHeaderText = 'hdr-' + [guid]::NewGuid().ToString('N')
    $script:msiSecretText = 'msi-' + [guid]::NewGuid().ToString('N')
    $script:firstUsers = @((Get-SimUser -Sim $sim) | Select-Object -First 120 | ForEach-Object id)
    $script:identityVariables = 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT',
        'IDENTITY_SERVER_THUMBPRINT', 'AZURE_POD_IDENTITY_AUTHORITY_HOST'

    function script:Register-SimApp {
        param([string] $ClientId = $clientId, [string[]] $Roles = (Get-ReadRoles), [string] $Secret = $secretText,
            [string[]] $Certificate = @(), [int] $LifetimeSeconds = 3600, [bool] $Consented = $true)
        $body = @{ clientId = $ClientId; roles = @($Roles); secrets = @($Secret); certificates = @($Certificate)
            lifetimeSeconds = $LifetimeSeconds; consented = $Consented }
        Invoke-RestMethod -Method Post -Uri "$url/_sim/apps" -Body ($body | ConvertTo-Json -Depth 4) -ContentType 'application/json'
    }
    function script:Set-SimIdentity([hashtable] $Settings) {
        Invoke-RestMethod -Method Post -Uri "$url/_sim/identity" -Body ($Settings | ConvertTo-Json -Depth 5) -ContentType 'application/json'
    }
    function script:Get-IssuedToken { (Invoke-RestMethod -Uri "$url/_sim/tokens").issued }
    function script:Get-Rejected401 { (Invoke-RestMethod -Uri "$url/_sim/tokens").rejected401 }
    function script:Clear-IdentityVariable {
        foreach ($name in $identityVariables) { Remove-Item "Env:$name" -ErrorAction SilentlyContinue }
    }
    function script:Get-Caught([scriptblock] $Script) {
        try { & $Script; $null } catch { $_ }
    }
    function script:New-TestCertificate([int] $ValidFromDays = -1, [int] $ValidToDays = 30) {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new(
            'CN=PerUserMfa sign-in test', $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256,
            [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays($ValidFromDays), [DateTimeOffset]::UtcNow.AddDays($ValidToDays))
        [pscustomobject]@{ Certificate = $certificate; Key = $rsa; Base64 = [Convert]::ToBase64String($certificate.RawData) }
    }

    # PEM and DER built by hand from what .NET Framework 4.7.2 has (RawData, RSAParameters):
    # ExportCertificatePem and the Export*PrivateKey(Pem) methods exist only on .NET Core 3.0+ /
    # .NET 7+, and this file runs on Windows PowerShell 5.1 too.
    function script:ConvertTo-Der([byte] $Tag, [byte[]] $Content) {
        $length = $Content.Length
        $lengthBytes = if ($length -lt 0x80) { @([byte]$length) } else {
            $octets = @(); while ($length -gt 0) { $octets = @([byte]($length -band 0xFF)) + $octets; $length = $length -shr 8 }
            @([byte](0x80 + $octets.Count)) + $octets
        }
        [byte[]](@($Tag) + $lengthBytes + $Content)
    }
    function script:ConvertTo-DerInteger([byte[]] $UnsignedBigEndian) {
        $start = 0
        while ($start -lt $UnsignedBigEndian.Length - 1 -and $UnsignedBigEndian[$start] -eq 0) { $start++ }
        $value = [byte[]]$UnsignedBigEndian[$start..($UnsignedBigEndian.Length - 1)]
        if ($value[0] -band 0x80) { $value = [byte[]](@([byte]0) + $value) }
        ConvertTo-Der 0x02 $value
    }
    function script:Get-RsaPrivateKeyDer([System.Security.Cryptography.RSA] $Key, [switch] $Pkcs1) {
        # PKCS#1 RSAPrivateKey; by default wrapped in a PKCS#8 PrivateKeyInfo (rsaEncryption, NULL).
        $p = $Key.ExportParameters($true)
        $fields = foreach ($part in $p.Modulus, $p.Exponent, $p.D, $p.P, $p.Q, $p.DP, $p.DQ, $p.InverseQ) { ConvertTo-DerInteger $part }
        $rsaPrivateKey = ConvertTo-Der 0x30 ([byte[]](@(0x02, 0x01, 0x00) + $fields))
        if ($Pkcs1) { return , $rsaPrivateKey }
        $algorithm = [byte[]](0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00)
        , (ConvertTo-Der 0x30 ([byte[]](@(0x02, 0x01, 0x00) + $algorithm + (ConvertTo-Der 0x04 $rsaPrivateKey))))
    }
    function script:ConvertTo-Pem([string] $Label, [byte[]] $Der) {
        $base64 = [Convert]::ToBase64String($Der)
        $lines = for ($i = 0; $i -lt $base64.Length; $i += 64) { $base64.Substring($i, [Math]::Min(64, $base64.Length - $i)) }
        (@("-----BEGIN $Label-----") + $lines + @("-----END $Label-----")) -join "`n"
    }
    function script:Get-TestPem($TestCertificate, [switch] $Pkcs1) {
        # The certificate and its private key as one PEM file's text (PKCS#8, or PKCS#1 with -Pkcs1).
        $keyLabel = if ($Pkcs1) { 'RSA PRIVATE KEY' } else { 'PRIVATE KEY' }
        (ConvertTo-Pem 'CERTIFICATE' $TestCertificate.Certificate.RawData) + "`n" +
            (ConvertTo-Pem $keyLabel (Get-RsaPrivateKeyDer $TestCertificate.Key -Pkcs1:$Pkcs1))
    }

    Register-SimApp | Out-Null
    Set-SimIdentity @{
        systemAssigned = @{ roles = @(Get-ReadRoles) }
        userAssigned   = @(@{ clientId = 'mi-user-1'; roles = @(Get-WriteRoles) })
        identityHeader = $identityHeaderText
        msiSecret      = $msiSecretText
    } | Out-Null
    $script:savedPath = $env:PATH
    $script:savedModulePath = $env:PSModulePath
    $script:savedIdentity = @{}
    foreach ($name in $identityVariables) { $savedIdentity[$name] = [Environment]::GetEnvironmentVariable($name) }
    Clear-IdentityVariable
}

AfterAll {
    Disconnect-PerUserMfa
    $env:PATH = $savedPath
    $env:PSModulePath = $savedModulePath
    foreach ($name in $identityVariables) { [Environment]::SetEnvironmentVariable($name, $savedIdentity[$name]) }
    Remove-Module Microsoft.Graph.Authentication -Force -ErrorAction SilentlyContinue
    Stop-GraphSim $sim
}

Describe 'Client secret' {
    It 'signs in, shows the connection and reads states' {
        Connect-PerUserMfa -TenantId contoso.onmicrosoft.com -ClientId $clientId -ClientSecret $secret @entra
        $connection = Get-PerUserMfaConnection
        $connection.PSObject.TypeNames[0] | Should -Be 'PerUserMfa.Connection'
        $connection.SignInMethod | Should -Be 'ClientSecret'
        $connection.TenantId | Should -Be $tenantGuid
        $connection.ClientId | Should -Be $clientId
        $connection.Environment | Should -Be 'Global'
        $connection.GraphEndpoint | Should -Be $url
        $connection.PermissionType | Should -Be 'Application'
        $connection.Permissions | Should -Be (Get-ReadRoles)
        $connection.TokenExpiresOn | Should -BeGreaterThan ([DateTimeOffset]::Now.AddMinutes(50))
        $connection.RefreshesToken | Should -BeTrue
        ($connection | Out-String) | Should -Match 'SignInMethod\s*:\s*ClientSecret'
        (Get-PerUserMfaState -UserId adele.vance@contoso.com).PerUserMfaState | Should -Be 'Enabled'
    }

    It 'says what to fix for a wrong secret (<Code>) and keeps the previous connection' -TestCases @(
        @{ Code = 'AADSTS7000215'; Tenant = 'contoso.onmicrosoft.com'; WrongSecret = 'wrong-secret-value'; Expect = '*Secret ID*' }
        @{ Code = 'AADSTS90002'; Tenant = 'fabrikam.onmicrosoft.com'; WrongSecret = $null; Expect = '*-TenantId*-Environment*' }
    ) {
        Connect-PerUserMfa -TenantId contoso.onmicrosoft.com -ClientId $clientId -ClientSecret $secret @entra
        $before = Get-PerUserMfaConnection
        $given = if ($WrongSecret) { ConvertTo-SecureString $WrongSecret -AsPlainText -Force } else { $secret }
        $caught = Get-Caught { Connect-PerUserMfa -TenantId $Tenant -ClientId $clientId -ClientSecret $given @entra }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.SignInFailed*'
        $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $caught.Exception.Message | Should -BeLike "*($Code)*"
        $caught.Exception.Message | Should -BeLike $Expect
        $caught.Exception.Message | Should -BeLike '*Trace ID:*Correlation ID:*'
        $caught.Exception.GraphCode | Should -Be $Code
        if ($WrongSecret) { "$caught" | Should -Not -BeLike "*$WrongSecret*" }
        (Get-PerUserMfaConnection).TokenExpiresOn | Should -Be $before.TokenExpiresOn
    }

    It 'says an app without admin consent needs it (AADSTS65001)' {
        $unconsented = [guid]::NewGuid().ToString()
        Register-SimApp -ClientId $unconsented -Consented $false | Out-Null
        $caught = Get-Caught { Connect-PerUserMfa -TenantId contoso.com -ClientId $unconsented -ClientSecret $secret @entra }
        $caught.Exception.Message | Should -BeLike '*(AADSTS65001)*Grant admin consent*'
    }

    It 'names an unknown app (AADSTS700016)' {
        $caught = Get-Caught { Connect-PerUserMfa -TenantId contoso.com -ClientId ([guid]::NewGuid()) -ClientSecret $secret @entra }
        $caught.Exception.Message | Should -BeLike '*(AADSTS700016)*-ClientId*'
    }
}

Describe 'Certificate' {
    BeforeAll {
        $script:good = New-TestCertificate
        $script:expired = New-TestCertificate -ValidFromDays -400 -ValidToDays -10
        $script:stranger = New-TestCertificate
        $script:certApp = [guid]::NewGuid().ToString()
        Register-SimApp -ClientId $certApp -Secret 'unused' -Certificate @($good.Base64, $expired.Base64) | Out-Null
        $script:pemPath = Join-Path $TestDrive 'app.pem'
        Set-Content -Path $pemPath -Value (Get-TestPem $good)
        $script:pfxPath = Join-Path $TestDrive 'app.pfx'
        [System.IO.File]::WriteAllBytes($pfxPath, $good.Certificate.Export('Pfx', $pfxPasswordText))
        $script:pfxPassword = ConvertTo-SecureString $pfxPasswordText -AsPlainText -Force
        $script:keyBase64 = [Convert]::ToBase64String((Get-RsaPrivateKeyDer $good.Key))
    }

    It 'builds the PEM text .NET itself would export (the check runs where .NET has the exporters)' -Tag 'DotNetCore' {
        (Get-TestPem $good) | Should -BeExactly ($good.Certificate.ExportCertificatePem() + "`n" + $good.Key.ExportPkcs8PrivateKeyPem())
        (Get-TestPem $good -Pkcs1) | Should -BeExactly ($good.Certificate.ExportCertificatePem() + "`n" + $good.Key.ExportRSAPrivateKeyPem())
    }

    It 'signs in with a PEM file (certificate + private key)' {
        Connect-PerUserMfa -TenantId $tenantGuid -ClientId $certApp -CertificatePath $pemPath @entra
        $connection = Get-PerUserMfaConnection
        $connection.SignInMethod | Should -Be 'Certificate'
        $connection.CertificateThumbprint | Should -Be $good.Certificate.Thumbprint
        (Get-PerUserMfaState -UserId alex.wilber@contoso.com).PerUserMfaState | Should -Be 'Enforced'
    }

    It 'signs in with a password-protected PFX' {
        Connect-PerUserMfa -TenantId contoso.onmicrosoft.com -ClientId $certApp -CertificatePath $pfxPath -CertificatePassword $pfxPassword @entra
        (Get-PerUserMfaConnection).CertificateThumbprint | Should -Be $good.Certificate.Thumbprint
        (Get-PerUserMfaState -UserId lee.gu@contoso.com).PerUserMfaState | Should -Be 'Enforced'
    }

    It 'signs in with a certificate from the CurrentUser store by thumbprint' {
        $withKey = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($pfxPath, $pfxPasswordText, 'Exportable,PersistKeySet')
        $store = [System.Security.Cryptography.X509Certificates.X509Store]::new('My', 'CurrentUser')
        $store.Open('ReadWrite')
        try {
            $store.Add($withKey)
            Connect-PerUserMfa -TenantId contoso.com -ClientId $certApp -CertificateThumbprint $good.Certificate.Thumbprint.ToLower() @entra
            (Get-PerUserMfaConnection).CertificateThumbprint | Should -Be $good.Certificate.Thumbprint
        }
        finally {
            $store.Remove($withKey)
            $store.Close()
        }
    }

    It 'refuses a wrong PFX password before signing in' {
        $caught = Get-Caught { Connect-PerUserMfa -TenantId contoso.com -ClientId $certApp -CertificatePath $pfxPath -CertificatePassword (ConvertTo-SecureString 'nope' -AsPlainText -Force) @entra }
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.InvalidCertificate*'
        $caught.Exception.Message | Should -BeLike '*-CertificatePassword*'
    }

    It 'says the registered certificate has expired (AADSTS700027)' {
        $path = Join-Path $TestDrive 'expired.pem'
        Set-Content -Path $path -Value (Get-TestPem $expired -Pkcs1)
        $caught = $null
        try { Connect-PerUserMfa -TenantId contoso.com -ClientId $certApp -CertificatePath $path @entra -WarningVariable warned -WarningAction SilentlyContinue } catch { $caught = $_ }
        "$warned" | Should -BeLike '*expired*'
        $caught.Exception.Message | Should -BeLike '*has expired (AADSTS700027)*'
        $caught.Exception.Message | Should -BeLike "*$($expired.Certificate.Thumbprint)*"
    }

    It 'says a certificate the app does not have is unknown (AADSTS700027)' {
        $path = Join-Path $TestDrive 'stranger.pem'
        Set-Content -Path $path -Value (Get-TestPem $stranger)
        $caught = Get-Caught { Connect-PerUserMfa -TenantId contoso.com -ClientId $certApp -CertificatePath $path @entra }
        $caught.Exception.Message | Should -BeLike '*does not know the certificate*(AADSTS700027)*Upload*'
    }
}

Describe 'Managed identity' {
    BeforeEach { Clear-IdentityVariable }
    AfterAll { Clear-IdentityVariable }

    It 'signs in through IDENTITY_ENDPOINT / IDENTITY_HEADER (Azure Automation, App Service)' {
        $env:IDENTITY_ENDPOINT = "$url/msi/token"
        $env:IDENTITY_HEADER = $identityHeaderText
        Connect-PerUserMfa -Identity -GraphEndpoint $url
        $connection = Get-PerUserMfaConnection
        $connection.SignInMethod | Should -Be 'ManagedIdentity'
        $connection.ManagedIdentitySource | Should -Be 'AppService'
        $connection.Permissions | Should -Be (Get-ReadRoles)
        ($connection | Out-String) | Should -Match 'ManagedIdentity \(AppService\)'
        (Get-PerUserMfaState -UserId adele.vance@contoso.com).PerUserMfaState | Should -Be 'Enabled'
    }

    It 'signs in as a user-assigned identity with -ClientId' {
        $env:IDENTITY_ENDPOINT = "$url/msi/token"
        $env:IDENTITY_HEADER = $identityHeaderText
        Connect-PerUserMfa -Identity -ClientId mi-user-1 -GraphEndpoint $url
        (Get-PerUserMfaConnection).ClientId | Should -Be 'mi-user-1'
        (Get-PerUserMfaConnection).Permissions | Should -Contain 'Policy.ReadWrite.AuthenticationMethod'
    }

    It 'signs in through MSI_ENDPOINT / MSI_SECRET (older hybrid workers)' {
        $env:MSI_ENDPOINT = "$url/msi/token"
        $env:MSI_SECRET = $msiSecretText
        Connect-PerUserMfa -Identity -GraphEndpoint $url
        (Get-PerUserMfaConnection).ManagedIdentitySource | Should -Be 'MsiEndpoint'
        (Get-PerUserMfaConnection).TokenExpiresOn | Should -BeGreaterThan ([DateTimeOffset]::Now)
        (Get-PerUserMfaState -UserId adele.vance@contoso.com).PerUserMfaState | Should -Be 'Enabled'
    }

    It 'signs in through IMDS (Azure VMs), here at the simulator through AZURE_POD_IDENTITY_AUTHORITY_HOST' {
        $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $url
        Connect-PerUserMfa -Identity -GraphEndpoint $url
        (Get-PerUserMfaConnection).ManagedIdentitySource | Should -Be 'Imds'
        (Get-PerUserMfaState -UserId adele.vance@contoso.com).PerUserMfaState | Should -Be 'Enabled'
    }

    It 'says how to turn the identity on when the host has none' {
        Set-SimIdentity @{ systemAssigned = $null } | Out-Null
        try {
            $env:IDENTITY_ENDPOINT = "$url/msi/token"
            $env:IDENTITY_HEADER = $identityHeaderText
            $caught = Get-Caught { Connect-PerUserMfa -Identity -GraphEndpoint $url }
            $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.SignInFailed*'
            $caught.Exception.Message | Should -BeLike '*has no a system-assigned managed identity enabled*Automation account > Account Settings > Identity*'
            Clear-IdentityVariable
            $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $url
            $caught = Get-Caught { Connect-PerUserMfa -Identity -GraphEndpoint $url }
            $caught.Exception.Message | Should -BeLike '*virtual machine*Security > Identity*'
        }
        finally {
            Set-SimIdentity @{ systemAssigned = @{ roles = @(Get-ReadRoles) } } | Out-Null
        }
    }

    It 'says where -Identity works when no managed identity endpoint answers' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = "http://127.0.0.1:$port"
        $caught = Get-Caught { Connect-PerUserMfa -Identity -GraphEndpoint $url }
        $caught.Exception.Message | Should -BeLike '*No managed identity is available here*Automation runbooks*'
    }

    It 'runs the Azure Automation runbook example in a fresh PowerShell with the variables Automation sets' {
        $runbook = Join-Path $TestDrive 'runbook.ps1'
        $csv = Join-Path $TestDrive 'runbook.csv'
        Set-Content -Path $runbook -Value @"
`$ErrorActionPreference = 'Stop'
Import-Module '$env:PUMFA_TEST_MODULE'
Connect-PerUserMfa -Identity -GraphEndpoint '$url'
Get-PerUserMfaState | Export-Csv -Path '$csv' -NoTypeInformation
"@
        $result = Invoke-FreshPowerShell -File $runbook -Environment @{ IDENTITY_ENDPOINT = "$url/msi/token"; IDENTITY_HEADER = $identityHeaderText }
        $result.ExitCode | Should -Be 0 -Because $result.Errors
        $rows = Import-Csv $csv
        $rows.Count | Should -BeGreaterThan 100
        $rows[0].PSObject.Properties.Name | Should -Contain 'PerUserMfaState'
    }
}

Describe 'Azure CLI' {
    BeforeAll {
        $script:azDir = Join-Path $TestDrive 'azcli'
        New-Item -ItemType Directory -Path $azDir | Out-Null
        function script:Set-StubAz([string] $Body, [int] $ExitCode = 0, [switch] $ToStderr) {
            # $IsWindows does not exist on Windows PowerShell 5.1 (it came with PowerShell 6).
            if ($PSVersionTable.PSEdition -eq 'Desktop' -or $IsWindows) {
                $lines = @('@echo off', "echo $Body$(if ($ToStderr) { ' 1>&2' })", "exit /b $ExitCode")
                Set-Content -Path (Join-Path $azDir 'az.cmd') -Value $lines -Encoding ascii
            }
            else {
                $redirect = if ($ToStderr) { ' >&2' } else { '' }
                $escaped = $Body.Replace("'", "'\''")
                Set-Content -Path (Join-Path $azDir 'az') -Value "#!/bin/sh`necho '$escaped'$redirect`nexit $ExitCode`n"
                chmod +x (Join-Path $azDir 'az')
            }
        }
        $script:cliToken = New-SimToken -Sim $sim -Roles (Get-ReadRoles) -AsPlainText
        $expires = [DateTimeOffset]::UtcNow.AddHours(1).ToUnixTimeSeconds()
        $script:cliAnswer = '{"accessToken":"' + $cliToken + '","expires_on":' + $expires + ',"tokenType":"Bearer"}'
    }
    BeforeEach { $env:PATH = $azDir + [IO.Path]::PathSeparator + $savedPath }
    AfterEach { $env:PATH = $savedPath }

    It 'uses the signed-in account of az found on the session PATH' {
        Set-StubAz $cliAnswer
        Connect-PerUserMfa -AzureCli -GraphEndpoint $url
        (Get-PerUserMfaConnection).SignInMethod | Should -Be 'AzureCli'
        (Get-PerUserMfaState -UserId adele.vance@contoso.com).PerUserMfaState | Should -Be 'Enabled'
    }

    It 'says to run az login when the CLI is not signed in' {
        Set-StubAz "ERROR: Please run 'az login' to setup account." -ExitCode 1 -ToStderr
        $caught = Get-Caught { Connect-PerUserMfa -AzureCli -GraphEndpoint $url }
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.SignInFailed*'
        $caught.Exception.Message | Should -BeLike '*Run az login*'
    }
}

Describe 'Microsoft Graph PowerShell session' {
    BeforeAll {
        $moduleRoot = Join-Path $TestDrive 'modules'
        $stubDir = Join-Path $moduleRoot 'Microsoft.Graph.Authentication'
        New-Item -ItemType Directory -Path $stubDir -Force | Out-Null
        Set-Content -Path (Join-Path $stubDir 'Microsoft.Graph.Authentication.psm1') -Value @'
# A stand-in for Microsoft Graph PowerShell: Connect-MgGraph remembers a token; Get-MgContext and
# Invoke-MgGraphRequest -OutputType HttpResponseMessage answer like the real module does.
$script:token = $null
function Connect-MgGraph { param([string] $AccessTokenText) $script:token = $AccessTokenText }
function Disconnect-MgGraph { $script:token = $null }
function Get-MgContext {
    [CmdletBinding()] param()
    if (-not $script:token) { return }
    [pscustomobject]@{ Account = 'admin@contoso.onmicrosoft.com'; TenantId = 'contoso-tenant'; Environment = 'Global'
        ClientId = '14d82eec-204b-4c2f-b7e8-296a70dab67e'; Scopes = @('User.Read.All', 'Policy.Read.All'); AuthType = 'Delegated' }
}
function Invoke-MgGraphRequest {
    [CmdletBinding()] param([string] $Method, [string] $Uri, [string] $OutputType)
    if (-not $script:token) { throw 'Authentication needed. Please call Connect-MgGraph.' }
    $request = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Get, "https://graph.microsoft.com/$Uri")
    $request.Headers.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', $script:token)
    $response = [System.Net.Http.HttpResponseMessage]::new([System.Net.HttpStatusCode]::OK)
    $response.RequestMessage = $request
    $response
}
Export-ModuleMember -Function Connect-MgGraph, Disconnect-MgGraph, Get-MgContext, Invoke-MgGraphRequest
'@
        $env:PSModulePath = $moduleRoot + [IO.Path]::PathSeparator + $savedModulePath
        $script:delegatedToken = New-SimToken -Sim $sim -Scopes 'User.Read.All Policy.Read.All' -AsPlainText
    }
    AfterAll {
        Remove-Module Microsoft.Graph.Authentication -Force -ErrorAction SilentlyContinue
        $env:PSModulePath = $savedModulePath
    }

    It 'says clearly when Microsoft Graph PowerShell is not loaded' {
        Remove-Module Microsoft.Graph.Authentication -Force -ErrorAction SilentlyContinue
        $caught = Get-Caught { Connect-PerUserMfa -GraphEndpoint $url }
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.GraphSessionNotFound*'
        $caught.Exception.Message | Should -BeLike '*without sign-in parameters*Microsoft.Graph.Authentication module is not loaded*Connect-MgGraph*'
    }

    It 'says clearly when it is loaded but not connected' {
        Import-Module Microsoft.Graph.Authentication -Force
        $caught = Get-Caught { Connect-PerUserMfa -UseGraphSession -GraphEndpoint $url }
        $caught.Exception.Message | Should -BeLike '*-UseGraphSession*Get-MgContext returned nothing*'
    }

    It 'reuses the Connect-MgGraph token when no other sign-in parameter is given' {
        Import-Module Microsoft.Graph.Authentication -Force
        Connect-MgGraph -AccessTokenText $delegatedToken
        Connect-PerUserMfa -GraphEndpoint $url
        $connection = Get-PerUserMfaConnection
        $connection.SignInMethod | Should -Be 'GraphSession'
        $connection.PermissionType | Should -Be 'Delegated'
        $connection.Account | Should -Be 'admin@contoso.onmicrosoft.com'
        $connection.RefreshesToken | Should -BeFalse
        (Get-PerUserMfaState -UserId adele.vance@contoso.com).PerUserMfaState | Should -Be 'Enabled'
        Connect-PerUserMfa -UseGraphSession -GraphEndpoint $url
        (Get-PerUserMfaConnection).SignInMethod | Should -Be 'GraphSession'
    }
}

Describe 'Access token and clouds' {
    It 'keeps -AccessToken and picks each cloud''s endpoints (<Environment>)' -TestCases @(
        @{ Environment = 'Global'; Graph = 'https://graph.microsoft.com' }
        @{ Environment = 'USGov'; Graph = 'https://graph.microsoft.us' }
        @{ Environment = 'USGovDoD'; Graph = 'https://dod-graph.microsoft.us' }
        @{ Environment = 'China'; Graph = 'https://microsoftgraph.chinacloudapi.cn' }
    ) {
        # A token for that cloud's Graph (Connect-PerUserMfa refuses one for another audience); nothing is sent.
        $encode = { param($text) [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($text)).TrimEnd('=').Replace('+', '-').Replace('/', '_') }
        $claims = @{ aud = $Graph; exp = [DateTimeOffset]::UtcNow.AddHours(1).ToUnixTimeSeconds(); roles = @('User.Read.All') } | ConvertTo-Json -Compress
        $token = '{0}.{1}.c2lnbmF0dXJl' -f (& $encode '{"typ":"JWT","alg":"RS256"}'), (& $encode $claims)
        Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $token -AsPlainText -Force) -Environment $Environment
        $connection = Get-PerUserMfaConnection
        $connection.SignInMethod | Should -Be 'AccessToken'
        $connection.Environment | Should -Be $Environment
        $connection.GraphEndpoint | Should -Be $Graph
        $connection.RefreshesToken | Should -BeFalse
    }

    It 'asks the environment''s Graph for the token: a Global tenant has no USGov Graph (AADSTS500011)' {
        $caught = Get-Caught { Connect-PerUserMfa -TenantId contoso.com -ClientId $clientId -ClientSecret $secret -Environment USGov @entra }
        $caught.Exception.Message | Should -BeLike '*AADSTS500011*-Environment*'
    }

    It 'refuses plain http for -AuthorityHost off loopback' {
        $caught = Get-Caught { Connect-PerUserMfa -TenantId contoso.com -ClientId $clientId -ClientSecret $secret -GraphEndpoint $url -AuthorityHost 'http://login.contoso.com' }
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.InvalidEndpoint*'
        $caught.Exception.Message | Should -BeLike '*https*loopback*'
    }
}

Describe 'Tokens during a run' {
    AfterEach { Set-SimConfig -Sim $sim -Settings @{ latencyMs = 0 } | Out-Null }

    It 'refreshes a short-lived token before it expires, so a run longer than two tokens loses nobody' {
        $shortApp = [guid]::NewGuid().ToString()
        Register-SimApp -ClientId $shortApp -LifetimeSeconds 4 | Out-Null
        Connect-PerUserMfa -TenantId contoso.com -ClientId $shortApp -ClientSecret $secret @entra
        Set-SimConfig -Sim $sim -Settings @{ latencyMs = 80 } | Out-Null
        $issuedBefore = @(Get-IssuedToken | Where-Object appId -EQ $shortApp).Count
        $rejectedBefore = Get-Rejected401
        $started = [DateTime]::UtcNow
        $rows = @($firstUsers | Get-PerUserMfaState -ThrottleLimit 2 -ErrorVariable failed)
        $elapsed = [DateTime]::UtcNow - $started
        $elapsed.TotalSeconds | Should -BeGreaterThan 8 -Because 'the run outlives two 4-second tokens'
        $rows.Count | Should -Be $firstUsers.Count
        $failed | Should -BeNullOrEmpty
        (@(Get-IssuedToken | Where-Object appId -EQ $shortApp).Count - $issuedBefore) | Should -BeGreaterOrEqual 2
        Get-Rejected401 | Should -Be $rejectedBefore -Because 'tokens are replaced before Graph refuses them'
    }

    It 'gets a new token once and retries when Graph answers 401 mid-run' {
        Connect-PerUserMfa -TenantId contoso.com -ClientId $clientId -ClientSecret $secret @entra
        $issuedBefore = @(Get-IssuedToken | Where-Object appId -EQ $clientId).Count
        Invoke-RestMethod -Method Post -Uri "$url/_sim/tokens/revoke" -Body (@{ appId = $clientId } | ConvertTo-Json) -ContentType 'application/json' | Out-Null
        $output = $firstUsers | Select-Object -First 30 | Get-PerUserMfaState -Verbose 4>&1
        @($output | Where-Object { $_.PSObject.TypeNames[0] -eq 'PerUserMfa.UserState' }).Count | Should -Be 30
        @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*getting a new token*' }).Count | Should -BeGreaterThan 0
        @(Get-IssuedToken | Where-Object appId -EQ $clientId).Count | Should -Be ($issuedBefore + 1)
    }

    It 'ends the run with the Unauthorized error when a static -AccessToken is refused' {
        $token = New-SimToken -Sim $sim -Roles (Get-ReadRoles)
        Connect-PerUserMfa -AccessToken $token -GraphEndpoint $url
        Invoke-RestMethod -Method Post -Uri "$url/_sim/tokens/revoke" | Out-Null
        $caught = Get-Caught { Get-PerUserMfaState -UserId adele.vance@contoso.com }
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.Unauthorized*'
    }
}

Describe 'Pre-flight permission check' {
    It 'warns once, before Graph refuses, naming the permission a read lacks' {
        $limited = [guid]::NewGuid().ToString()
        Register-SimApp -ClientId $limited -Roles @('User.Read.All') | Out-Null
        Connect-PerUserMfa -TenantId contoso.com -ClientId $limited -ClientSecret $secret @entra
        $caught = $null
        try { $null = Get-PerUserMfaState -UserId adele.vance@contoso.com, alex.wilber@contoso.com -WarningVariable warned -WarningAction SilentlyContinue } catch { $caught = $_ }
        @($warned).Count | Should -Be 1
        "$warned" | Should -BeLike '*Policy.Read.All*read per-user MFA states*Grant admin consent*'
        # Graph's first 403 confirms what the token says: one terminating error, not one per user.
        $caught.FullyQualifiedErrorId | Should -BeLike 'PerUserMfa.PermissionDenied*'
        $caught.Exception.Message | Should -BeLike '*Stopped at the first refusal*'
    }

    It 'says nothing when the token has what the command needs' {
        Connect-PerUserMfa -TenantId contoso.com -ClientId $clientId -ClientSecret $secret @entra
        $null = Get-PerUserMfaState -UserId adele.vance@contoso.com -WarningVariable warned
        $warned | Should -BeNullOrEmpty
    }
}

Describe 'Secrets stay secret' {
    It 'no secret, key or token appears in any stream, error record or connection detail of verbose runs' {
        $Error.Clear()
        $pemPath = Join-Path $TestDrive 'scan.pem'
        $scanCert = New-TestCertificate
        $scanApp = [guid]::NewGuid().ToString()
        Register-SimApp -ClientId $scanApp -Certificate @($scanCert.Base64) | Out-Null
        Set-Content -Path $pemPath -Value (Get-TestPem $scanCert)
        $pfxPath = Join-Path $TestDrive 'scan.pfx'
        [System.IO.File]::WriteAllBytes($pfxPath, $scanCert.Certificate.Export('Pfx', $pfxPasswordText))
        $pfxPassword = ConvertTo-SecureString $pfxPasswordText -AsPlainText -Force

        $captured = & {
            Connect-PerUserMfa -TenantId contoso.com -ClientId $clientId -ClientSecret $secret @entra -Verbose
            Get-PerUserMfaConnection | Format-List * | Out-String
            Get-PerUserMfaState -UserId adele.vance@contoso.com, nobody@contoso.com -Verbose -ErrorAction Continue
            try { Connect-PerUserMfa -TenantId contoso.com -ClientId $clientId -ClientSecret (ConvertTo-SecureString "$secretText-x" -AsPlainText -Force) @entra -Verbose } catch { $_ }
            Connect-PerUserMfa -TenantId contoso.com -ClientId $scanApp -CertificatePath $pemPath @entra -Verbose
            Connect-PerUserMfa -TenantId contoso.com -ClientId $scanApp -CertificatePath $pfxPath -CertificatePassword $pfxPassword @entra -Verbose
            Get-PerUserMfaConnection | Format-List * | Out-String
            $env:IDENTITY_ENDPOINT = "$url/msi/token"; $env:IDENTITY_HEADER = $identityHeaderText
            try { Connect-PerUserMfa -Identity -GraphEndpoint $url -Verbose } finally { Clear-IdentityVariable }
            Get-PerUserMfaState -All -Verbose | Select-Object -First 3
            $env:IDENTITY_ENDPOINT = "$url/msi/token"; $env:IDENTITY_HEADER = 'stale-header-value'
            try { Connect-PerUserMfa -Identity -GraphEndpoint $url -Verbose } catch { $_ } finally { Clear-IdentityVariable }
            $env:MSI_ENDPOINT = "$url/msi/token"; $env:MSI_SECRET = $msiSecretText
            try { Connect-PerUserMfa -Identity -GraphEndpoint $url -Verbose } finally { Clear-IdentityVariable }
            Connect-PerUserMfa -AccessToken $readToken -GraphEndpoint $url -Verbose
            Get-PerUserMfaConnection | Format-List * | Out-String
        } *>&1
        $text = [System.Text.StringBuilder]::new()
        foreach ($record in @($captured) + @($Error)) {
            [void]$text.AppendLine(($record | Out-String))
            if ($record -is [System.Management.Automation.ErrorRecord]) {
                [void]$text.AppendLine($record.Exception.ToString())
                [void]$text.AppendLine("$($record.ErrorDetails)")
                [void]$text.AppendLine("$($record.TargetObject)")
                [void]$text.AppendLine(($record.Exception | Format-List * -Force | Out-String))
            }
        }
        $all = $text.ToString()
        $all.Length | Should -BeGreaterThan 1000
        $all | Should -BeLike '*Signed in with ClientSecret*'
        $secrets = @($secretText, $pfxPasswordText, $identityHeaderText, 'stale-header-value', $msiSecretText,
            [Convert]::ToBase64String((Get-RsaPrivateKeyDer $scanCert.Key)).Substring(0, 64),
            [Convert]::ToBase64String((Get-RsaPrivateKeyDer $scanCert.Key -Pkcs1)).Substring(0, 64))
        $tokens = @(Get-IssuedToken | ForEach-Object accessToken)
        $tokens.Count | Should -BeGreaterThan 5
        foreach ($value in $secrets) {
            $all.Contains($value) | Should -BeFalse -Because "a secret ($($value.Substring(0, 6))...) must not be written anywhere"
        }
        foreach ($token in $tokens + @([System.Net.NetworkCredential]::new('', $readToken).Password)) {
            # The whole token, and its signature alone (what makes it usable), must not show up.
            $all.Contains($token) | Should -BeFalse -Because "a token ($($token.Substring(0, 8))...) must not be written anywhere"
            $all.Contains($token.Split('.')[-1]) | Should -BeFalse
        }
    }
}
