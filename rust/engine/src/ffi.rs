//! The whole native surface of the engine: every `extern "C"` function lives in this file.
//!
//! Contract (docs/ARCHITECTURE.md §1):
//! - handles are opaque pointers created and freed only here;
//! - every buffer the engine hands out is a `PumfaBuffer` released with `pumfa_buffer_free`;
//! - input memory belongs to the caller and is only read during the call;
//! - every body runs inside `catch_unwind`, so a panic becomes `PUMFA_ERROR`, never an abort
//!   of the PowerShell host;
//! - nothing here calls back into .NET: the caller polls `pumfa_job_next`.
//!
//! `build.rs` turns this file into `dotnet/PerUserMfa/Native/NativeMethods.g.cs` with csbindgen.
//!
//! # Safety
//! Every export has the same contract, so it is stated once here rather than on each function:
//! a pointer argument is null or valid for the length given, for the duration of the call; a
//! handle is one this file returned and has not yet freed; an out pointer points to writable
//! memory of its type. Null pointers are checked and become `PUMFA_ERROR`.
#![allow(clippy::missing_safety_doc)] // the contract above covers every export

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::error::EngineError;
use crate::job::{Job, NextEvent};
use crate::secret::Secret;
use crate::session::Session;

/// Call succeeded; an out buffer, if any, is filled.
pub const PUMFA_OK: i32 = 0;
/// Call failed; the out buffer holds one error event as JSON.
pub const PUMFA_ERROR: i32 = 1;
/// `pumfa_job_next`: no event within the timeout; call again.
pub const PUMFA_TIMEOUT: i32 = 2;
/// `pumfa_job_next`: the job finished and every event was read.
pub const PUMFA_DONE: i32 = 3;

/// UTF-8 bytes owned by the engine. Release with `pumfa_buffer_free`.
#[repr(C)]
pub struct PumfaBuffer {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

impl PumfaBuffer {
    fn from_string(text: String) -> PumfaBuffer {
        let mut bytes = std::mem::ManuallyDrop::new(text.into_bytes());
        PumfaBuffer { ptr: bytes.as_mut_ptr(), len: bytes.len(), cap: bytes.capacity() }
    }
}

/// Writes `text` into `*out` when the caller gave a place for it.
unsafe fn put(out: *mut PumfaBuffer, text: String) {
    if !out.is_null() {
        *out = PumfaBuffer::from_string(text);
    }
}

/// Runs `body`, turning both an `EngineError` and a panic into `PUMFA_ERROR` plus an error event.
unsafe fn guarded(out_error: *mut PumfaBuffer, body: impl FnOnce() -> Result<i32, EngineError>) -> i32 {
    quiet_panics();
    let outer = IN_EXPORT.with(|flag| flag.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(body));
    IN_EXPORT.with(|flag| flag.set(outer));
    let error = match outcome {
        Ok(Ok(status)) => return status,
        Ok(Err(error)) => error,
        Err(panic) => EngineError::from_panic(panic),
    };
    put(out_error, error.to_event_json(""));
    PUMFA_ERROR
}

thread_local! {
    static IN_EXPORT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A panic in an export or on an engine thread is reported as an error event; the default hook
/// would also print it (and maybe a backtrace) on the host's stderr, which in PowerShell is noise
/// the admin cannot act on. Panics anywhere else (a test's assertion) keep the default report.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let engine_thread = std::thread::current().name().is_some_and(|n| n.starts_with("perusermfa-engine"));
            if !(IN_EXPORT.with(|flag| flag.get()) || engine_thread) {
                previous(info);
            }
        }));
    });
}

unsafe fn utf8<'a>(ptr: *const u8, len: usize) -> Result<&'a str, EngineError> {
    if ptr.is_null() {
        return Err(EngineError::invalid_input("the engine was given a null pointer for JSON input"));
    }
    std::str::from_utf8(std::slice::from_raw_parts(ptr, len))
        .map_err(|_| EngineError::invalid_input("the engine was given JSON that is not UTF-8"))
}

unsafe fn session_ref<'a>(session: *mut c_void) -> Result<&'a Session, EngineError> {
    (session as *const Session).as_ref().ok_or_else(|| EngineError::invalid_input("the session handle is null"))
}

unsafe fn job_ref<'a>(job: *mut c_void) -> Result<&'a Job, EngineError> {
    (job as *const Job).as_ref().ok_or_else(|| EngineError::invalid_input("the job handle is null"))
}

/// Writes `{"engine":"<version>"}` into `out`.
#[no_mangle]
pub unsafe extern "C" fn pumfa_version(out: *mut PumfaBuffer) -> i32 {
    guarded(out, || {
        put(out, format!("{{\"engine\":\"{}\"}}", env!("CARGO_PKG_VERSION")));
        Ok(PUMFA_OK)
    })
}

/// Opens a session (runtime + Graph connection). `secret_utf16` carries the credential the
/// options' `auth.kind` needs (for `accessToken`, the token); it is copied into memory that is
/// zeroed on drop and never logged.
#[no_mangle]
pub unsafe extern "C" fn pumfa_session_open(
    options_json: *const u8,
    options_len: usize,
    secret_utf16: *const u16,
    secret_len: usize,
    out_session: *mut *mut c_void,
    out_error: *mut PumfaBuffer,
) -> i32 {
    guarded(out_error, || {
        if out_session.is_null() {
            return Err(EngineError::invalid_input("out_session is null"));
        }
        *out_session = std::ptr::null_mut();
        let options = utf8(options_json, options_len)?;
        let secret = if secret_utf16.is_null() || secret_len == 0 {
            Secret::empty()
        } else {
            Secret::from_utf16(std::slice::from_raw_parts(secret_utf16, secret_len))?
        };
        let session = Session::open(options, secret)?;
        *out_session = Box::into_raw(Box::new(session)) as *mut c_void;
        Ok(PUMFA_OK)
    })
}

/// Writes the session's connection details as JSON into `out` (how it signed in, tenant, app,
/// cloud, endpoints, the current token's permissions and expiry; never the token).
#[no_mangle]
pub unsafe extern "C" fn pumfa_session_info(session: *mut c_void, out: *mut PumfaBuffer) -> i32 {
    guarded(out, || {
        let session = session_ref(session)?;
        put(out, session.info_json());
        Ok(PUMFA_OK)
    })
}

/// Closes a session: cancels its jobs and shuts its runtime down. Null is ignored.
#[no_mangle]
pub unsafe extern "C" fn pumfa_session_close(session: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !session.is_null() {
            drop(Box::from_raw(session as *mut Session));
        }
    }));
}

/// Starts a job (one cmdlet invocation) described by `request_json`.
#[no_mangle]
pub unsafe extern "C" fn pumfa_job_start(
    session: *mut c_void,
    request_json: *const u8,
    request_len: usize,
    out_job: *mut *mut c_void,
    out_error: *mut PumfaBuffer,
) -> i32 {
    guarded(out_error, || {
        if out_job.is_null() {
            return Err(EngineError::invalid_input("out_job is null"));
        }
        *out_job = std::ptr::null_mut();
        let session = session_ref(session)?;
        let request = utf8(request_json, request_len)?;
        let job = session.start_job(request)?;
        *out_job = Box::into_raw(Box::new(job)) as *mut c_void;
        Ok(PUMFA_OK)
    })
}

/// Adds input to a running job: `{"userIds":[...]}` (getStates with scope `input`, planChanges)
/// or `{"changes":[...]}` (planChanges, applyChanges). A job refuses the kind it does not take.
#[no_mangle]
pub unsafe extern "C" fn pumfa_job_push(
    job: *mut c_void,
    input_json: *const u8,
    input_len: usize,
    out_error: *mut PumfaBuffer,
) -> i32 {
    guarded(out_error, || {
        let job = job_ref(job)?;
        job.push(utf8(input_json, input_len)?)?;
        Ok(PUMFA_OK)
    })
}

/// Tells the job no more input comes; it finishes once every pushed user is done (applyChanges
/// starts only then: it journals the whole run before the first PATCH).
#[no_mangle]
pub unsafe extern "C" fn pumfa_job_close_input(job: *mut c_void) -> i32 {
    guarded(std::ptr::null_mut(), || {
        job_ref(job)?.close_input();
        Ok(PUMFA_OK)
    })
}

/// Waits up to `timeout_ms` for the job's next event. `PUMFA_OK`: `out_event` holds one event;
/// `PUMFA_TIMEOUT`: nothing yet; `PUMFA_DONE`: finished, nothing more will come.
#[no_mangle]
pub unsafe extern "C" fn pumfa_job_next(job: *mut c_void, timeout_ms: u32, out_event: *mut PumfaBuffer) -> i32 {
    guarded(out_event, || {
        let job = job_ref(job)?;
        Ok(match job.next(Duration::from_millis(u64::from(timeout_ms))) {
            NextEvent::Event(json) => {
                put(out_event, json);
                PUMFA_OK
            }
            NextEvent::Timeout => PUMFA_TIMEOUT,
            NextEvent::Done => PUMFA_DONE,
        })
    })
}

/// Cancels a job from any thread (StopProcessing). Idempotent.
#[no_mangle]
pub unsafe extern "C" fn pumfa_job_cancel(job: *mut c_void) -> i32 {
    guarded(std::ptr::null_mut(), || {
        job_ref(job)?.cancel();
        Ok(PUMFA_OK)
    })
}

/// Frees a job, cancelling it first if it still runs. Null is ignored.
#[no_mangle]
pub unsafe extern "C" fn pumfa_job_free(job: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !job.is_null() {
            drop(Box::from_raw(job as *mut Job));
        }
    }));
}

/// Frees a buffer the engine filled and zeroes the struct so a second free does nothing.
#[no_mangle]
pub unsafe extern "C" fn pumfa_buffer_free(buffer: *mut PumfaBuffer) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(buffer) = buffer.as_mut() {
            if !buffer.ptr.is_null() {
                drop(Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.cap));
            }
            buffer.ptr = std::ptr::null_mut();
            buffer.len = 0;
            buffer.cap = 0;
        }
    }));
}
