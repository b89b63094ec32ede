#Requires -Modules Pester
<#
    The suite keeps journals out of the real default folder of whoever runs it: Invoke-PesterSuite
    points PERUSERMFA_JOURNAL_DIR at a temporary folder, notes what the real folder held, and runs
    this file last to check the suite left it as it found it.
#>

Describe 'The real default journal folder' {
    It 'is as the suite found it' -Skip:(-not $env:PUMFA_TEST_REAL_JOURNAL_DIR) {
        $env:PERUSERMFA_JOURNAL_DIR | Should -Not -BeNullOrEmpty
        [System.IO.Path]::GetFullPath($env:PERUSERMFA_JOURNAL_DIR) | Should -Not -Be ([System.IO.Path]::GetFullPath($env:PUMFA_TEST_REAL_JOURNAL_DIR))
        $folder = $env:PUMFA_TEST_REAL_JOURNAL_DIR
        $now = (@("exists: $(Test-Path -LiteralPath $folder)") + @(if (Test-Path -LiteralPath $folder) { Get-ChildItem -LiteralPath $folder -Force | ForEach-Object Name })) -join "`n"
        $now | Should -BeExactly $env:PUMFA_TEST_REAL_JOURNALS_BEFORE
    }
}
