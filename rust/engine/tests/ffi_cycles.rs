//! The C ABI over many connect / read / cancel / disconnect cycles, as a long PowerShell session
//! drives it: the bytes the engine holds must not grow from cycle to cycle. This test binary
//! counts every allocation and free (its own global allocator), so a leaked session, job, buffer,
//! runtime or task shows up as live bytes that keep rising.
//!
//! CI runs `CYCLES`; a longer run: `PUMFA_FFI_CYCLES=2000 cargo test -p perusermfa-engine --test ffi_cycles -- --nocapture`.
//! The same cycles under valgrind: see tests/reliability/Test-FfiLeaks.ps1.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use common::*;
use graph_sim::config::SimConfig;
use serde_json::json;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Cycles in an ordinary `cargo test` run.
const CYCLES: usize = 30;
/// Cycles run before the baseline, so one-time state (the simulator's, lazy statics) is in it.
const WARM_UP: usize = 10;

/// One session's life: open, read every state, a second read cancelled part-way, a pushed read
/// freed without reading its events, close.
fn cycle(sim: &graph_sim::SimHandle, token: &str) {
    let session = Session::with_token(&sim.url(), token).expect("session opens");
    let _ = session.info();
    let job = session.start(json!({ "operation": "getStates", "scope": "all" }));
    job.close_input();
    let events = job.drain();
    assert_eq!(of_type(&events, "userState").len(), 40);
    drop(job);

    let job = session.start(json!({ "operation": "getStates", "scope": "all", "throttleLimit": 2 }));
    job.close_input();
    let _ = job.next(5);
    job.cancel();
    while job.next(50).is_some() {}
    drop(job);

    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    job.push_users(&["nobody@contoso.com"]);
    drop(job);
    drop(session);
}

#[test]
fn connect_read_cancel_disconnect_cycles_hold_no_more_memory() {
    let cycles: usize = std::env::var("PUMFA_FFI_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(CYCLES);
    let sim = start_sim(SimConfig::new(40, 5).with_bulk_state(false));
    let token = sim.token(READ);
    for _ in 0..WARM_UP {
        cycle(&sim, &token);
    }
    // Runtimes stop their threads asynchronously; let the last one go before measuring.
    std::thread::sleep(Duration::from_millis(600));
    let baseline = LIVE_BYTES.load(Ordering::SeqCst);
    let mut samples = Vec::new();
    for n in 1..=cycles {
        cycle(&sim, &token);
        if n % 10 == 0 {
            std::thread::sleep(Duration::from_millis(600));
            samples.push(LIVE_BYTES.load(Ordering::SeqCst) - baseline);
        }
    }
    std::thread::sleep(Duration::from_millis(600));
    let growth = LIVE_BYTES.load(Ordering::SeqCst) - baseline;
    println!("{cycles} cycles after {WARM_UP} warm-up: live bytes vs baseline every 10 cycles {samples:?}, at the end {growth}");
    // A leaked session (runtime, client, connection pool) or job costs tens of kilobytes a cycle;
    // the allowance covers allocator-internal jitter (a thread-local cache, a pool that kept a
    // connection) that does not rise with the number of cycles.
    assert!(growth < 64 * 1024, "live bytes grew by {growth} over {cycles} cycles: {samples:?}");
}
