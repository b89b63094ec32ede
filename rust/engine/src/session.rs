//! A session: one connection to Graph (endpoint + credential) with the runtime its jobs run on.
//! It lives from `Connect-PerUserMfa` to `Disconnect-PerUserMfa`; the throttle gate inside its
//! client persists across jobs, because Graph's budget does too.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::error::EngineError;
use crate::graph::auth::Credential;
use crate::graph::client::GraphClient;
use crate::job::Job;
use crate::options::{validate_endpoint, AuthOptions, JobRequest, SessionOptions};
use crate::secret::Secret;

/// Owns the tokio runtime; shutting it down never blocks the PowerShell thread for long, even
/// if a DNS lookup on a blocking thread hangs.
pub struct EngineRuntime(Option<Runtime>);

impl EngineRuntime {
    fn new() -> Result<EngineRuntime, EngineError> {
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

pub struct Session {
    runtime: Arc<EngineRuntime>,
    client: Arc<GraphClient>,
}

impl Session {
    pub fn open(options_json: &str, secret: Secret) -> Result<Session, EngineError> {
        let options = SessionOptions::parse(options_json)?;
        let endpoint = validate_endpoint(&options.graph_endpoint)?;
        let credential = match options.auth {
            AuthOptions::AccessToken => Credential::access_token(secret)?,
        };
        let user_agent = options
            .user_agent
            .unwrap_or_else(|| format!("PerUserMfa/{}", crate::ENGINE_VERSION));
        let runtime = Arc::new(EngineRuntime::new()?);
        let client = {
            let _entered = runtime.get().enter();
            Arc::new(GraphClient::new(endpoint, credential, &user_agent)?)
        };
        Ok(Session { runtime, client })
    }

    pub fn start_job(&self, request_json: &str) -> Result<Job, EngineError> {
        let request = JobRequest::parse(request_json)?;
        Job::start(self.runtime.clone(), self.client.clone(), request)
    }
}
