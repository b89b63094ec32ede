//! `graph-sim`: runs the Microsoft Graph simulator on 127.0.0.1 until killed or
//! `POST /_sim/shutdown`. Prints exactly one JSON line to stdout once listening.

use std::io::Write as _;

use clap::Parser;
use graph_sim::{
    BulkStateMode, RegistrationTopMode, RuntimeConfig, SchemaModes, SignInActivityAdvancedMode, SimConfig, Simulator,
    ThrottleMode, UpnRangeMode,
};

#[derive(Parser, Debug)]
#[command(name = "graph-sim", version, about = "A Microsoft Graph simulator on 127.0.0.1 for PerUserMfa's tests")]
struct Cli {
    /// TCP port on 127.0.0.1 (0 = a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Users in the generated tenant (the first 8 are fixed fixtures).
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Seed of the tenant generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated network round trip per HTTP request (a $batch counts once), in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Uniform jitter (±) added to the latency, in milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Extra server time per users list page, in milliseconds.
    #[arg(long, default_value_t = 0)]
    page_ms: u64,
    /// Median server time per request, top-level or inside a $batch (a $batch waits for its
    /// slowest request), in milliseconds.
    #[arg(long, default_value_t = 0)]
    server_ms: u64,
    /// Server time per route instead of --server-ms: route=ms pairs, comma-separated (routes:
    /// listUsers, user, requirements, batch (the envelope's overhead), registrationDetails,
    /// signIns, methods).
    #[arg(long, default_value = "", value_parser = graph_sim::config::parse_route_ms)]
    route_ms: [Option<u64>; 7],
    /// Share of requests (0..1) whose server time is 5-10x the median: the long tail.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    tail_rate: f64,
    /// Server time of a $batch envelope on top of its slowest request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    batch_overhead_ms: u64,
    /// Read units per 10 s that another client of the same app spends (a shared budget).
    #[arg(long, default_value_t = 0)]
    other_client_units: u32,
    /// Requests per 10 s per app for /users/{id}/authentication/methods (default: no own limit).
    #[arg(long)]
    methods_budget: Option<u32>,
    /// Answer a $batch with throttled requests with a 424 envelope (carrying every answer).
    #[arg(long)]
    envelope_424: bool,
    /// Throttling: off, or auto (Graph's identity-and-access budgets).
    #[arg(long, default_value = "off", value_parser = parse_throttle)]
    throttle: ThrottleMode,
    /// Resource units per 10 s per app (default by tenant size: 3500 / 5000 / 8000).
    #[arg(long)]
    read_budget: Option<u32>,
    /// Writes per 150 s per app (default 3000).
    #[arg(long)]
    write_budget: Option<u32>,
    /// Never return perUserMfaState from $select on users (the same as --bulk-state ignored).
    #[arg(long)]
    no_bulk_state: bool,
    /// `$select=perUserMfaState` on users: served, ignored (left out) or refused (400).
    #[arg(long, value_parser = parse_bulk_state)]
    bulk_state: Option<BulkStateMode>,
    /// `$top` on userRegistrationDetails: accepted or refused (400).
    #[arg(long, default_value = "accepted", value_parser = parse_registration_top)]
    registration_top: RegistrationTopMode,
    /// `$select=signInActivity` with `ConsistencyLevel: eventual`: served or empty (null for every user).
    #[arg(long, default_value = "served", value_parser = parse_sign_in_activity_advanced)]
    sign_in_activity_advanced: SignInActivityAdvancedMode,
    /// Put in front of every user principal name (a tenant whose UPNs all start alike).
    #[arg(long)]
    upn_prefix: Option<String>,
    /// `$filter` ranges on userPrincipalName (ge, le): accepted (as advanced query) or refused (400).
    #[arg(long, default_value = "accepted", value_parser = parse_upn_range)]
    upn_range: UpnRangeMode,
    /// Every unkind schema answer at once: bulk state refused, registration $top refused,
    /// signInActivity empty under advanced query, userPrincipalName ranges refused (the four flags
    /// above override it).
    #[arg(long)]
    harsh_schema: bool,
    /// An Entra ID Free tenant: registration details, sign-in logs and signInActivity answer 403.
    #[arg(long)]
    free_tenant: bool,
    /// Probability (0..1) per request and per batch sub-request of a 503.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_503: f64,
    /// Probability (0..1) per request and per batch sub-request of a 504.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_504: f64,
    /// Probability (0..1) per top-level HTTP request of dropping the connection.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    drop_rate: f64,
    /// A Conditional Access scenario (JSON file: policies, groups, roles, licence; see README).
    #[arg(long)]
    scenario: Option<std::path::PathBuf>,
}

fn parse_throttle(text: &str) -> Result<ThrottleMode, String> {
    ThrottleMode::parse(text).ok_or_else(|| format!("'{text}' is not off or auto"))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("'{text}' is not a probability from 0 to 1")),
    }
}

fn parse_bulk_state(text: &str) -> Result<BulkStateMode, String> {
    BulkStateMode::parse(text).ok_or_else(|| format!("'{text}' is not served, ignored or refused"))
}

fn parse_registration_top(text: &str) -> Result<RegistrationTopMode, String> {
    RegistrationTopMode::parse(text).ok_or_else(|| format!("'{text}' is not accepted or refused"))
}

fn parse_sign_in_activity_advanced(text: &str) -> Result<SignInActivityAdvancedMode, String> {
    SignInActivityAdvancedMode::parse(text).ok_or_else(|| format!("'{text}' is not served or empty"))
}

fn parse_upn_range(text: &str) -> Result<UpnRangeMode, String> {
    UpnRangeMode::parse(text).ok_or_else(|| format!("'{text}' is not accepted or refused"))
}

/// The schema modes the flags ask for: `--harsh-schema` first, then each flag that differs from
/// its default.
fn schema_modes(cli: &Cli) -> SchemaModes {
    let mut schema = if cli.harsh_schema { SchemaModes::HARSH } else { SchemaModes::default() };
    if cli.no_bulk_state {
        schema.bulk_state = BulkStateMode::Ignored;
    }
    if let Some(mode) = cli.bulk_state {
        schema.bulk_state = mode;
    }
    if cli.registration_top != RegistrationTopMode::default() {
        schema.registration_top = cli.registration_top;
    }
    if cli.sign_in_activity_advanced != SignInActivityAdvancedMode::default() {
        schema.sign_in_activity_advanced = cli.sign_in_activity_advanced;
    }
    if cli.upn_range != UpnRangeMode::default() {
        schema.upn_range = cli.upn_range;
    }
    schema
}

fn main() {
    let cli = Cli::parse();
    let schema = schema_modes(&cli);
    let scenario = cli.scenario.clone();
    let config = SimConfig {
        port: cli.port,
        users: cli.users,
        seed: cli.seed,
        upn_prefix: cli.upn_prefix.clone(),
        runtime: RuntimeConfig {
            latency_ms: cli.latency_ms,
            jitter_ms: cli.jitter_ms,
            page_ms: cli.page_ms,
            server_ms: cli.server_ms,
            route_ms: cli.route_ms,
            tail_rate: cli.tail_rate,
            batch_overhead_ms: cli.batch_overhead_ms,
            other_client_units: cli.other_client_units,
            methods_budget: cli.methods_budget.map(|b| b.max(1)),
            envelope_424: cli.envelope_424,
            throttle: cli.throttle,
            read_budget: cli.read_budget.map(|b| b.max(1)),
            write_budget: cli.write_budget.map(|b| b.max(1)),
            free_tenant: cli.free_tenant,
            fault503: cli.fault_503,
            fault504: cli.fault_504,
            drop_rate: cli.drop_rate,
            schema,
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("graph-sim: cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("graph-sim: cannot bind 127.0.0.1:{}: {error}", config.port);
                std::process::exit(1);
            }
        };
        let addr = listener.local_addr().expect("bound address");
        let (users, seed) = (config.users, config.seed);
        let simulator = Simulator::new(config);
        if let Some(path) = &scenario {
            let loaded = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|text| simulator.load_scenario(&text));
            if let Err(message) = loaded {
                eprintln!("graph-sim: scenario {}: {message}", path.display());
                std::process::exit(2);
            }
        }
        let ready = serde_json::json!({
            "event": "listening",
            "url": format!("http://{addr}"),
            "users": users,
            "seed": seed,
        });
        {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{ready}");
            let _ = stdout.flush();
        }
        let stopper = simulator.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stopper.request_shutdown();
            }
        });
        simulator.run(listener).await;
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
}
