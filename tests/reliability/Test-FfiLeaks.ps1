<#
.SYNOPSIS
    The engine's C ABI under valgrind memcheck: the connect / read / cancel / disconnect cycles
    of rust/engine/tests/ffi_cycles.rs (which also count live bytes with their own allocator),
    run under `valgrind --leak-check=full`. Prints valgrind's leak summary and the live-bytes
    samples; exits 1 if valgrind reports a definite leak or an invalid access. Figures:
    RELIABILITY.md.

.EXAMPLE
    dotnet pwsh -NoProfile -File tests/reliability/Test-FfiLeaks.ps1 -Cycles 40
#>
param(
    [int] $Cycles = 40
)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
if (-not (Get-Command valgrind -ErrorAction SilentlyContinue)) {
    throw 'valgrind is not installed (Debian/Ubuntu: apt-get install -y valgrind).'
}
Push-Location $root
try {
    # The test binary cargo builds for ffi_cycles.rs (debug: symbols for valgrind's report).
    $built = cargo test -p perusermfa-engine --test ffi_cycles --no-run --message-format=json 2>$null |
        ForEach-Object { $_ | ConvertFrom-Json } |
        Where-Object { $_.reason -eq 'compiler-artifact' -and $_.target.name -eq 'ffi_cycles' -and $_.executable } |
        Select-Object -Last 1
    if (-not $built) { throw 'cargo did not build the ffi_cycles test.' }
    $env:PUMFA_FFI_CYCLES = $Cycles
    $log = Join-Path ([System.IO.Path]::GetTempPath()) "pumfa-valgrind-$PID.log"
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    & valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$log `
        $built.executable --test-threads 1 --nocapture | Write-Host
    $exit = $LASTEXITCODE
    $clock.Stop()
    $summary = Get-Content $log | Where-Object { $_ -match 'definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY' }
    $summary | ForEach-Object { Write-Host ($_ -replace '^==\d+== ', '') }
    Write-Host ("valgrind run: {0} cycles in {1:N0} s, exit code {2} (log: {3})" -f $Cycles, $clock.Elapsed.TotalSeconds, $exit, $log)
    if ($exit -ne 0) { exit 1 }
}
finally {
    Pop-Location
}
