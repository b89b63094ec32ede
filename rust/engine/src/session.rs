//! A session: one connection to Graph (endpoint + credential) with the runtime its jobs run on.
//! It lives from `Connect-PerUserMfa` to `Disconnect-PerUserMfa`; the throttle gate inside its
//! client persists across jobs, because Graph's budget does too.

use std::sync::Arc;

use crate::error::EngineError;
use crate::graph::client::GraphClient;
use crate::job::Job;
use crate::options::{validate_endpoint, JobRequest, SessionOptions};
use crate::runtime::EngineRuntime;
use crate::secret::Secret;
use crate::signin::{self, cloud::Cloud, ConnectionInfo};

pub struct Session {
    runtime: Arc<EngineRuntime>,
    client: Arc<GraphClient>,
    info: ConnectionInfo,
}

impl Session {
    /// Opens a connection. A sign-in method that can get its own token (client secret,
    /// certificate, managed identity, Azure CLI) gets the first one now, so a wrong secret or a
    /// missing identity is reported by Connect-PerUserMfa, not by the first command.
    pub fn open(options_json: &str, secret: Secret) -> Result<Session, EngineError> {
        let options = SessionOptions::parse(options_json)?;
        let cloud = Cloud::parse(options.environment.as_deref())?;
        let endpoint = validate_endpoint(options.graph_endpoint.as_deref().unwrap_or(cloud.graph_endpoint()))?;
        let user_agent = options.user_agent.clone().unwrap_or_else(|| format!("PerUserMfa/{}", crate::ENGINE_VERSION));
        let runtime = Arc::new(EngineRuntime::new()?);
        let (client, info) = {
            let _entered = runtime.get().enter();
            let (credential, info) = signin::build(&options, cloud, &endpoint, secret, &user_agent)?;
            (Arc::new(GraphClient::new(endpoint, credential, &user_agent)?), info)
        };
        if client.credential().can_refresh() {
            runtime.get().block_on(client.credential().bearer())?;
        }
        Ok(Session { runtime, client, info })
    }

    /// The connection's details as JSON (Get-PerUserMfaConnection): never the token.
    pub fn info_json(&self) -> String {
        self.info.to_json(self.client.credential().current().as_ref())
    }

    pub fn start_job(&self, request_json: &str) -> Result<Job, EngineError> {
        let request = JobRequest::parse(request_json)?;
        Job::start(self.runtime.clone(), self.client.clone(), request, crate::ops::operation)
    }
}
