//! The C ABI harness the engine's integration tests share: sessions and jobs opened, driven and
//! freed through the same exports the C# side calls, so every test also exercises ownership of
//! each buffer the engine hands out.
#![allow(dead_code)] // Each test crate uses its own subset.

use std::ffi::c_void;
use std::ptr;
use std::time::{Duration, Instant};

use graph_sim::config::SimConfig;
use graph_sim::SimHandle;
use perusermfa_engine::ffi::*;
use serde_json::{json, Value};

pub const READ: &[&str] = &["User.Read.All", "Policy.Read.All"];
pub const WRITE: &[&str] = &["User.Read.All", "Policy.ReadWrite.AuthenticationMethod"];

/// How long `Job::drain` waits for a job before the test fails.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

pub fn start_sim(config: SimConfig) -> SimHandle {
    graph_sim::try_spawn(config).expect("simulator starts").1
}

pub fn empty() -> PumfaBuffer {
    PumfaBuffer { ptr: ptr::null_mut(), len: 0, cap: 0 }
}

/// The text of a buffer the engine handed out, freed through the engine.
pub fn take(buffer: &mut PumfaBuffer) -> String {
    let text = unsafe { String::from_utf8(std::slice::from_raw_parts(buffer.ptr, buffer.len).to_vec()).unwrap() };
    unsafe { pumfa_buffer_free(buffer) };
    assert!(buffer.ptr.is_null(), "free zeroes the buffer");
    text
}

pub fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

pub struct Session(*mut c_void);

impl Session {
    /// Opens a session with the given options and secret; Err holds the engine's error JSON.
    pub fn open(options: Value, secret: &str) -> Result<Session, Value> {
        let options = options.to_string();
        let secret: Vec<u16> = secret.encode_utf16().collect();
        let mut session = ptr::null_mut();
        let mut error = empty();
        let status = unsafe {
            pumfa_session_open(options.as_ptr(), options.len(), secret.as_ptr(), secret.len(), &mut session, &mut error)
        };
        if status == PUMFA_OK {
            Ok(Session(session))
        } else {
            Err(serde_json::from_str(&take(&mut error)).unwrap())
        }
    }

    /// A session on `endpoint` with an access token obtained elsewhere.
    pub fn with_token(endpoint: &str, token: &str) -> Result<Session, Value> {
        let options =
            json!({ "graphEndpoint": endpoint, "auth": { "kind": "accessToken" }, "userAgent": "PerUserMfa-tests" });
        Session::open(options, token)
    }

    /// A session on the simulator with a token carrying `roles`.
    pub fn for_sim(sim: &SimHandle, roles: &[&str]) -> Session {
        Session::with_token(&sim.url(), &sim.token(roles)).expect("session opens")
    }

    pub fn start(&self, request: Value) -> Job {
        let request = request.to_string();
        let mut job = ptr::null_mut();
        let mut error = empty();
        let status = unsafe { pumfa_job_start(self.0, request.as_ptr(), request.len(), &mut job, &mut error) };
        assert_eq!(
            status,
            PUMFA_OK,
            "job starts: {}",
            if status == PUMFA_OK { String::new() } else { take(&mut error) }
        );
        Job(job)
    }

    pub fn info(&self) -> Value {
        let mut out = empty();
        assert_eq!(unsafe { pumfa_session_info(self.0, &mut out) }, PUMFA_OK);
        serde_json::from_str(&take(&mut out)).unwrap()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { pumfa_session_close(self.0) };
    }
}

pub struct Job(*mut c_void);

impl Job {
    /// Pushes one input document; Err holds the engine's refusal.
    pub fn push(&self, input: Value) -> Result<(), String> {
        let input = input.to_string();
        let mut error = empty();
        match unsafe { pumfa_job_push(self.0, input.as_ptr(), input.len(), &mut error) } {
            PUMFA_OK => Ok(()),
            _ => Err(take(&mut error)),
        }
    }

    pub fn push_users(&self, users: &[&str]) {
        self.push(json!({ "userIds": users })).expect("input accepted");
    }

    pub fn close_input(&self) {
        assert_eq!(unsafe { pumfa_job_close_input(self.0) }, PUMFA_OK);
    }

    pub fn cancel(&self) {
        assert_eq!(unsafe { pumfa_job_cancel(self.0) }, PUMFA_OK);
    }

    /// Some(Some(event)), Some(None) on timeout, None once the job is done.
    pub fn next(&self, timeout_ms: u32) -> Option<Option<Value>> {
        let mut event = empty();
        match unsafe { pumfa_job_next(self.0, timeout_ms, &mut event) } {
            PUMFA_OK => Some(Some(serde_json::from_str(&take(&mut event)).unwrap())),
            PUMFA_TIMEOUT => Some(None),
            PUMFA_DONE => None,
            other => panic!("unexpected status {other}: {}", take(&mut event)),
        }
    }

    /// Every event until the job is done.
    pub fn drain(&self) -> Vec<Value> {
        self.drain_within(DRAIN_LIMIT)
    }

    pub fn drain_within(&self, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        let mut events = Vec::new();
        while let Some(event) = self.next(200) {
            events.extend(event);
            assert!(Instant::now() < deadline, "job did not finish");
        }
        events
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        unsafe { pumfa_job_free(self.0) };
    }
}
