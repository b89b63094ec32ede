//! graph-sim: a Microsoft Graph simulator on 127.0.0.1 for PerUserMfa's tests and benchmarks.
//!
//! It serves the slice of Graph the module uses (users listing and lookup, the beta per-user MFA
//! `authentication/requirements` endpoint, JSON `$batch`) with Graph's shapes, errors, paging and
//! throttling, plus test-only `/_sim/*` routes. See `README.md` for flags, fixtures and routes.
//!
//! In-process use (the engine's cargo tests):
//!
//! ```no_run
//! # async fn demo() {
//! use graph_sim::{serve, SimConfig};
//! let (addr, sim) = serve(SimConfig::new(200, 1)).await;
//! let token = sim.token(&["User.Read.All", "Policy.ReadWrite.AuthenticationMethod"]);
//! println!("http://{addr} {token}");
//! sim.shutdown().await;
//! # }
//! ```
//!
//! The server runs on its own thread with its own tokio runtime, so it keeps serving even while
//! the caller's thread blocks (for example in a synchronous FFI call).

pub mod activity;
pub mod auth;
pub mod ca;
pub mod clock;
pub mod config;
pub mod entra;
pub mod faults;
pub mod odata;
pub mod report_throttle;
mod rng;
pub mod routes;
pub mod stats;
pub mod tenant;
pub mod throttle;
pub mod x509;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::RwLock;
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tower::ServiceExt as _;

pub use auth::{IssuedToken, TokenRequest};
pub use config::{
    BulkStateMode, RegistrationTopMode, RuntimeConfig, SchemaModes, SignInActivityAdvancedMode, SimConfig,
    ThrottleMode, UpnRangeMode,
};
pub use stats::StatsSnapshot;
pub use tenant::{MfaState, Tenant, User};

use auth::TokenAuthority;
use stats::Stats;
use throttle::Throttle;

/// Everything one simulator shares between its connections.
pub struct SimState {
    /// The start-up config (tenant size, seed, requested port).
    pub config: SimConfig,
    /// The bound address, once listening.
    pub addr: OnceLock<SocketAddr>,
    runtime: RwLock<RuntimeConfig>,
    tenant: RwLock<Arc<Tenant>>,
    generation: AtomicU64,
    pub authority: TokenAuthority,
    /// App registrations and managed identities for the sign-in routes (`entra.rs`).
    pub directory: entra::Directory,
    pub throttle: Throttle,
    /// The report sources' own budgets (`report_throttle.rs`).
    pub report_throttle: report_throttle::ReportThrottle,
    pub stats: Stats,
    /// The Conditional Access scenario (`ca/`).
    pub ca: ca::CaState,
    shutdown: watch::Sender<bool>,
}

/// The tenant `config` describes, in its `generation`.
fn generate_tenant(config: &SimConfig, generation: u64) -> Tenant {
    let mut tenant = Tenant::generate(config.users, config.seed, generation);
    if let Some(prefix) = &config.upn_prefix {
        tenant.prefix_upns(prefix);
    }
    tenant
}

impl SimState {
    fn new(config: SimConfig) -> SimState {
        let tenant = generate_tenant(&config, 0);
        let authority = TokenAuthority::new(tenant.id.clone());
        let (shutdown, _) = watch::channel(false);
        SimState {
            runtime: RwLock::new(config.runtime),
            config,
            addr: OnceLock::new(),
            tenant: RwLock::new(Arc::new(tenant)),
            generation: AtomicU64::new(0),
            authority,
            directory: entra::Directory::default(),
            throttle: Throttle::new(),
            report_throttle: Default::default(),
            stats: Stats::default(),
            ca: ca::CaState::default(),
            shutdown,
        }
    }

    /// A snapshot of the runtime settings.
    pub fn runtime(&self) -> RuntimeConfig {
        *self.runtime.read()
    }

    /// The current tenant (an `Arc`: a reset swaps in a new one without disturbing readers).
    pub fn tenant(&self) -> Arc<Tenant> {
        self.tenant.read().clone()
    }

    pub fn config_json(&self) -> Value {
        let port = self.addr.get().map(|a| a.port()).unwrap_or(self.config.port);
        config::config_json(&self.config, &self.runtime(), port)
    }

    /// Applies a partial JSON config; returns the full config.
    pub fn update_config(&self, patch: &Value) -> Result<Value, String> {
        {
            let mut runtime = self.runtime.write();
            *runtime = runtime.apply_json(patch)?;
        }
        Ok(self.config_json())
    }

    /// Regenerates the tenant from the seed and clears stats and throttle windows.
    pub fn reset(&self) {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let tenant = generate_tenant(&self.config, generation);
        *self.tenant.write() = Arc::new(tenant);
        self.stats.reset();
        self.throttle.clear();
        self.report_throttle.clear();
        self.ca.budget.clear();
    }

    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// A simulator: the shared state plus ways to serve it.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<SimState>,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Simulator {
        Simulator { state: Arc::new(SimState::new(config)) }
    }

    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// The axum router (for embedding; [`Simulator::run`] adds connection dropping on top).
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Mints a token as `POST /_sim/token` does.
    pub fn issue_token(&self, request: &TokenRequest) -> Result<IssuedToken, String> {
        self.state.authority.issue(request)
    }

    /// An application token with these permissions (`roles`), valid for an hour.
    pub fn token(&self, roles: &[&str]) -> String {
        self.issue_token(&TokenRequest::roles(roles)).expect("roles-only token").access_token
    }

    pub fn tenant(&self) -> Arc<Tenant> {
        self.state.tenant()
    }

    /// The ground truth as `GET /_sim/users` returns it.
    pub fn users_json(&self) -> Value {
        let tenant = self.state.tenant();
        serde_json::to_value(tenant.users.iter().map(|u| u.truth()).collect::<Vec<_>>()).unwrap_or(Value::Null)
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats.snapshot()
    }

    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    pub fn reset(&self) {
        self.state.reset();
    }

    pub fn runtime_config(&self) -> RuntimeConfig {
        self.state.runtime()
    }

    pub fn set_runtime_config(&self, runtime: RuntimeConfig) {
        *self.state.runtime.write() = runtime;
    }

    /// Applies a partial JSON config as `POST /_sim/config` does.
    pub fn update_config(&self, patch: &Value) -> Result<Value, String> {
        self.state.update_config(patch)
    }

    /// Loads a Conditional Access scenario (JSON text, see `ca/`) as `POST /_sim/scenario` does.
    pub fn load_scenario(&self, text: &str) -> Result<Value, String> {
        let scenario = ca::Scenario::parse(text, &self.state.tenant())?;
        let summary = scenario.summary();
        self.state.ca.set(scenario);
        Ok(summary)
    }

    /// Asks the server loop to stop (as `POST /_sim/shutdown` does).
    pub fn request_shutdown(&self) {
        self.state.request_shutdown();
    }

    /// Serves on `listener` until shutdown is requested, then lets open connections finish
    /// (at most about 2 s).
    pub async fn run(&self, listener: tokio::net::TcpListener) {
        if let Ok(addr) = listener.local_addr() {
            let _ = self.state.addr.set(addr);
        }
        let router = self.router();
        let mut shutdown = self.state.shutdown.subscribe();
        let open = Arc::new(AtomicUsize::new(0));
        loop {
            if *shutdown.borrow() {
                break;
            }
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let mut conn_shutdown = self.state.shutdown.subscribe();
            let open = open.clone();
            open.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let kill = Arc::new(Notify::new());
                let service = {
                    let kill = kill.clone();
                    hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(routes::ConnKill(kill.clone()));
                        router.clone().oneshot(request)
                    })
                };
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                let mut draining = false;
                loop {
                    tokio::select! {
                        _ = connection.as_mut() => break,
                        // --drop-rate: dropping the connection future closes the socket mid-request.
                        _ = kill.notified() => break,
                        changed = conn_shutdown.changed(), if !draining => {
                            draining = true;
                            if changed.is_ok() {
                                connection.as_mut().graceful_shutdown();
                            }
                        }
                    }
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
        for _ in 0..200 {
            if open.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A simulator serving on its own thread. Dropping the handle stops it.
pub struct SimHandle {
    addr: SocketAddr,
    simulator: Simulator,
    thread: Option<JoinHandle<()>>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// An application token with these permissions.
    pub fn token(&self, roles: &[&str]) -> String {
        self.simulator.token(roles)
    }

    pub fn issue_token(&self, request: &TokenRequest) -> Result<IssuedToken, String> {
        self.simulator.issue_token(request)
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.simulator.stats()
    }

    pub fn tenant(&self) -> Arc<Tenant> {
        self.simulator.tenant()
    }

    /// Stops the server and waits for its thread (blocking; quick).
    pub fn stop(mut self) {
        self.simulator.request_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops the server and waits for it without blocking the async caller.
    pub async fn shutdown(mut self) {
        self.simulator.request_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.simulator.request_shutdown();
    }
}

/// Starts a simulator on 127.0.0.1:`config.port` (0 = a free port) on a dedicated thread.
pub fn try_spawn(config: SimConfig) -> std::io::Result<(SocketAddr, SimHandle)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let simulator = Simulator::new(config);
    let _ = simulator.state.addr.set(addr);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("graph-sim").enable_all().build()?;
    let server = simulator.clone();
    let thread = std::thread::Builder::new().name("graph-sim".into()).spawn(move || {
        runtime.block_on(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => server.run(listener).await,
                Err(error) => eprintln!("graph-sim: cannot listen: {error}"),
            }
        });
        runtime.shutdown_timeout(Duration::from_millis(500));
    })?;
    Ok((addr, SimHandle { addr, simulator, thread: Some(thread) }))
}

/// [`try_spawn`], panicking if 127.0.0.1 cannot be bound (for tests).
pub fn spawn(config: SimConfig) -> (SocketAddr, SimHandle) {
    try_spawn(config).expect("graph-sim: cannot bind 127.0.0.1")
}

/// Starts a simulator (see [`spawn`]); usable from any async test, whatever its runtime flavour.
pub async fn serve(config: SimConfig) -> (SocketAddr, SimHandle) {
    spawn(config)
}
