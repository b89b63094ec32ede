//! The tokio runtime a session's jobs run on.

use std::time::Duration;

use tokio::runtime::Runtime;

use crate::error::EngineError;

/// Owns the tokio runtime; shutting it down never blocks the PowerShell thread for long, even
/// if a DNS lookup on a blocking thread hangs.
pub struct EngineRuntime(Option<Runtime>);

impl EngineRuntime {
    pub fn new() -> Result<EngineRuntime, EngineError> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 4);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("perusermfa-engine")
            .enable_all()
            .build()
            .map(|rt| EngineRuntime(Some(rt)))
            .map_err(|e| EngineError::internal(format!("Could not start the engine's runtime: {e}")))
    }

    pub fn get(&self) -> &Runtime {
        self.0.as_ref().expect("runtime is present until drop")
    }
}

impl Drop for EngineRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_timeout(Duration::from_millis(500));
        }
    }
}
