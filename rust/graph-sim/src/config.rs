//! Simulator settings: the ones fixed at start (port, tenant size, seed) and the ones that can
//! change at runtime through `POST /_sim/config` ([`RuntimeConfig`]).

use serde_json::{json, Map, Value};

/// Whether the simulator enforces Graph's identity-and-access throttling limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThrottleMode {
    /// Never answer 429 (the default).
    #[default]
    Off,
    /// Enforce the per-app resource-unit and write budgets (see `throttle.rs`).
    Auto,
}

impl ThrottleMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleMode::Off => "off",
            ThrottleMode::Auto => "auto",
        }
    }

    pub fn parse(text: &str) -> Option<ThrottleMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "false" | "none" => Some(ThrottleMode::Off),
            "auto" | "on" | "true" => Some(ThrottleMode::Auto),
            _ => None,
        }
    }
}

/// Everything a simulator needs to start. `Default` is the CLI's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Number of users in the generated tenant (the first 8 are the fixed fixtures).
    pub users: usize,
    /// Seed of the tenant generator.
    pub seed: u64,
    /// Settings that `POST /_sim/config` can change while the simulator runs.
    pub runtime: RuntimeConfig,
    /// Put in front of every user principal name: a tenant whose UPNs all start alike (employee
    /// numbers, one naming scheme), which a listing split by UPN ranges must still balance.
    pub upn_prefix: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { port: 0, users: 200, seed: 1, runtime: RuntimeConfig::default(), upn_prefix: None }
    }
}

impl SimConfig {
    /// A config for `users` users and `seed`, everything else default.
    pub fn new(users: usize, seed: u64) -> Self {
        SimConfig { users, seed, ..SimConfig::default() }
    }

    /// Every user principal name starts with `prefix` ([`SimConfig::upn_prefix`]).
    pub fn with_upn_prefix(mut self, prefix: &str) -> Self {
        self.upn_prefix = Some(prefix.to_string());
        self
    }

    pub fn with_throttle(mut self, mode: ThrottleMode) -> Self {
        self.runtime.throttle = mode;
        self
    }

    pub fn with_read_budget(mut self, units: u32) -> Self {
        self.runtime.read_budget = Some(units);
        self
    }

    pub fn with_write_budget(mut self, writes: u32) -> Self {
        self.runtime.write_budget = Some(writes);
        self
    }

    pub fn with_free_tenant(mut self, free_tenant: bool) -> Self {
        self.runtime.free_tenant = free_tenant;
        self
    }

    /// `true`: `$select=perUserMfaState` is served; `false`: it is ignored (see [`BulkStateMode`]).
    pub fn with_bulk_state(mut self, bulk_state: bool) -> Self {
        self.runtime.schema.bulk_state = if bulk_state { BulkStateMode::Served } else { BulkStateMode::Ignored };
        self
    }

    /// How the simulator answers where Graph's behaviour is undocumented ([`SchemaModes`]).
    pub fn with_schema(mut self, schema: SchemaModes) -> Self {
        self.runtime.schema = schema;
        self
    }

    pub fn with_latency(mut self, latency_ms: u64, jitter_ms: u64) -> Self {
        self.runtime.latency_ms = latency_ms;
        self.runtime.jitter_ms = jitter_ms;
        self
    }

    /// Graph-like round trips: `network_ms` per HTTP request, `server_ms` median server time per
    /// request with `tail_rate` of them 5-10x slower, and `batch_overhead_ms` per `$batch`.
    pub fn with_round_trips(mut self, network_ms: u64, server_ms: u64, tail_rate: f64, batch_overhead_ms: u64) -> Self {
        self.runtime.latency_ms = network_ms;
        self.runtime.server_ms = server_ms;
        self.runtime.tail_rate = tail_rate;
        self.runtime.batch_overhead_ms = batch_overhead_ms;
        self
    }

    /// Another client of the same app spending `units` read units per 10 s (see `throttle.rs`).
    pub fn with_other_client(mut self, units: u32) -> Self {
        self.runtime.other_client_units = units;
        self
    }

    pub fn with_faults(mut self, fault503: f64, fault504: f64, drop_rate: f64) -> Self {
        self.runtime.fault503 = fault503;
        self.runtime.fault504 = fault504;
        self.runtime.drop_rate = drop_rate;
        self
    }
}

/// The routes whose server time can be set one by one (`routeMs`), by name.
pub const ROUTE_NAMES: [&str; 7] =
    ["listUsers", "user", "requirements", "batch", "registrationDetails", "signIns", "methods"];

/// Settings read on every request; small and `Copy` so a request takes a snapshot.
///
/// Round trips (`faults::latency`, `faults::server_time`): every top-level HTTP request costs the
/// network round trip `latency_ms ± jitter_ms`; every request (top-level or inside a `$batch`)
/// costs server time, `server_ms` (or its route's `route_ms`) for most, 5-10x that for a
/// `tail_rate` share; a `$batch` costs `batch_overhead_ms` plus its slowest request's server time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuntimeConfig {
    /// Network round trip per top-level HTTP request.
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Extra server time of a users list page.
    pub page_ms: u64,
    /// Median server time per request, top-level or inside a `$batch`.
    pub server_ms: u64,
    /// Server time per route ([`ROUTE_NAMES`]), instead of `server_ms`.
    pub route_ms: [Option<u64>; 7],
    /// Share of requests (0..1) whose server time is 5-10x the median.
    pub tail_rate: f64,
    /// Server time of a `$batch` envelope on top of its slowest request.
    pub batch_overhead_ms: u64,
    /// Read units per 10 s that another client of the same app spends (delegated sessions share
    /// the Graph PowerShell app with every admin of the tenant).
    pub other_client_units: u32,
    /// Requests per 10 s per app for `/users/{id}/authentication/methods`; `None` = unthrottled
    /// beyond the read budget (Graph documents no figure; it may be as strict as its reports).
    pub methods_budget: Option<u32>,
    /// Answer a `$batch` whose requests include a 429 with a 424 envelope (carrying every answer)
    /// instead of 200, as Graph has been seen to.
    pub envelope_424: bool,
    pub throttle: ThrottleMode,
    /// Resource units per 10 s per app; `None` = by tenant size (3,500 / 5,000 / 8,000).
    pub read_budget: Option<u32>,
    /// Writes per 150 s per app; `None` = 3,000.
    pub write_budget: Option<u32>,
    /// An Entra ID Free tenant: premium report sources answer 403
    /// `Authentication_RequestFromNonPremiumTenantOrB2CTenant`.
    pub free_tenant: bool,
    pub fault503: f64,
    pub fault504: f64,
    pub drop_rate: f64,
    /// Answers to requests whose outcome Graph does not document.
    pub schema: SchemaModes,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            latency_ms: 0,
            jitter_ms: 0,
            page_ms: 0,
            server_ms: 0,
            route_ms: [None; 7],
            tail_rate: 0.0,
            batch_overhead_ms: 0,
            other_client_units: 0,
            methods_budget: None,
            envelope_424: false,
            throttle: ThrottleMode::Off,
            read_budget: None,
            write_budget: None,
            free_tenant: false,
            fault503: 0.0,
            fault504: 0.0,
            drop_rate: 0.0,
            schema: SchemaModes::default(),
        }
    }
}

// ---- Schema modes: where Graph's answer is undocumented or has been seen to vary, the
// simulator can give each answer a client may meet, so the engine's fallbacks are tested.
// The defaults are the kind answers; `SchemaModes::HARSH` is every unkind one at once.

/// How `GET /users?$select=...,perUserMfaState` is answered. The property is not in Graph's
/// published schema, yet tenants have been seen to return it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkStateMode {
    /// Returned when selected (with a Policy permission).
    #[default]
    Served,
    /// Silently left out of every row.
    Ignored,
    /// 400 `Request_BadRequest` "Could not find a property named 'perUserMfaState' …".
    Refused,
}

/// How `$top` on `userRegistrationDetails` is answered (Graph does not document it there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationTopMode {
    #[default]
    Accepted,
    /// 400 `BadRequest` for any `$top`.
    Refused,
}

/// How a `$filter` on a `userPrincipalName` range (`ge`, `le`) is answered. Graph's user
/// reference lists `ge` and `le` for the property; the simulator treats them as advanced query
/// (the harsher reading: 400 without `ConsistencyLevel: eventual` and `$count=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpnRangeMode {
    /// Served as an advanced query.
    #[default]
    Accepted,
    /// 400 `Request_UnsupportedQuery` for any `ge`/`le` on `userPrincipalName`, advanced or not.
    Refused,
}

impl UpnRangeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            UpnRangeMode::Accepted => "accepted",
            UpnRangeMode::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<UpnRangeMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "accepted" => Some(UpnRangeMode::Accepted),
            "refused" => Some(UpnRangeMode::Refused),
            _ => None,
        }
    }
}

/// How `$select=signInActivity` is answered in advanced-query mode (`ConsistencyLevel: eventual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignInActivityAdvancedMode {
    #[default]
    Served,
    /// `signInActivity` comes back null for every user, as Graph has answered.
    Empty,
}

/// The simulator's answers where Graph's behaviour is undocumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaModes {
    pub bulk_state: BulkStateMode,
    pub registration_top: RegistrationTopMode,
    pub sign_in_activity_advanced: SignInActivityAdvancedMode,
    pub upn_range: UpnRangeMode,
}

impl SchemaModes {
    /// Every unkind answer at once: no bulk state (refused), `$top` refused on registration
    /// details, empty `signInActivity` under advanced query, `userPrincipalName` ranges refused.
    pub const HARSH: SchemaModes = SchemaModes {
        bulk_state: BulkStateMode::Refused,
        registration_top: RegistrationTopMode::Refused,
        sign_in_activity_advanced: SignInActivityAdvancedMode::Empty,
        upn_range: UpnRangeMode::Refused,
    };
}

impl BulkStateMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStateMode::Served => "served",
            BulkStateMode::Ignored => "ignored",
            BulkStateMode::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<BulkStateMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "served" => Some(BulkStateMode::Served),
            "ignored" => Some(BulkStateMode::Ignored),
            "refused" => Some(BulkStateMode::Refused),
            _ => None,
        }
    }
}

impl RegistrationTopMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationTopMode::Accepted => "accepted",
            RegistrationTopMode::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<RegistrationTopMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "accepted" => Some(RegistrationTopMode::Accepted),
            "refused" => Some(RegistrationTopMode::Refused),
            _ => None,
        }
    }
}

impl SignInActivityAdvancedMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInActivityAdvancedMode::Served => "served",
            SignInActivityAdvancedMode::Empty => "empty",
        }
    }

    pub fn parse(text: &str) -> Option<SignInActivityAdvancedMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "served" => Some(SignInActivityAdvancedMode::Served),
            "empty" => Some(SignInActivityAdvancedMode::Empty),
            _ => None,
        }
    }
}

impl SchemaModes {
    /// Applies one `/_sim/config` key; `Ok(false)` when the key is not a schema mode.
    fn apply(&mut self, key: &str, value: &Value) -> Result<bool, String> {
        let text = || value.as_str().unwrap_or_default();
        match key {
            // `true`/`false` keep the older boolean form: served or ignored.
            "bulkState" => {
                self.bulk_state = match value {
                    Value::Bool(true) => BulkStateMode::Served,
                    Value::Bool(false) => BulkStateMode::Ignored,
                    _ => BulkStateMode::parse(text()).ok_or_else(|| {
                        format!("'{key}' must be true, false, \"served\", \"ignored\" or \"refused\"")
                    })?,
                }
            }
            "registrationTop" => {
                self.registration_top = RegistrationTopMode::parse(text())
                    .ok_or_else(|| format!("'{key}' must be \"accepted\" or \"refused\""))?
            }
            "signInActivityAdvanced" => {
                self.sign_in_activity_advanced = SignInActivityAdvancedMode::parse(text())
                    .ok_or_else(|| format!("'{key}' must be \"served\" or \"empty\""))?
            }
            "upnRange" => {
                self.upn_range =
                    UpnRangeMode::parse(text()).ok_or_else(|| format!("'{key}' must be \"accepted\" or \"refused\""))?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn write_json(&self, map: &mut Map<String, Value>) {
        map.insert("bulkState".into(), json!(self.bulk_state.as_str()));
        map.insert("registrationTop".into(), json!(self.registration_top.as_str()));
        map.insert("signInActivityAdvanced".into(), json!(self.sign_in_activity_advanced.as_str()));
        map.insert("upnRange".into(), json!(self.upn_range.as_str()));
    }
}

/// Graph's resource-unit quota per app per tenant per 10 s, by tenant size.
pub fn default_read_budget(users: usize) -> u32 {
    if users < 50 {
        3_500
    } else if users <= 500 {
        5_000
    } else {
        8_000
    }
}

/// Graph's write quota per app per tenant per 150 s.
pub const DEFAULT_WRITE_BUDGET: u32 = 3_000;

impl RuntimeConfig {
    pub fn effective_read_budget(&self, users: usize) -> u32 {
        self.read_budget.unwrap_or_else(|| default_read_budget(users)).max(1)
    }

    pub fn effective_write_budget(&self) -> u32 {
        self.write_budget.unwrap_or(DEFAULT_WRITE_BUDGET).max(1)
    }

    /// Applies a partial JSON object (`POST /_sim/config`). Unknown keys and bad values are
    /// refused as a whole: nothing changes unless everything is valid.
    pub fn apply_json(&self, patch: &Value) -> Result<RuntimeConfig, String> {
        let object = patch.as_object().ok_or("the body must be a JSON object")?;
        let mut next = *self;
        for (key, value) in object {
            match key.as_str() {
                "latencyMs" => next.latency_ms = as_u64(key, value)?,
                "jitterMs" => next.jitter_ms = as_u64(key, value)?,
                "pageMs" => next.page_ms = as_u64(key, value)?,
                "serverMs" => next.server_ms = as_u64(key, value)?,
                "tailRate" => next.tail_rate = as_rate(key, value)?,
                "batchOverheadMs" => next.batch_overhead_ms = as_u64(key, value)?,
                "routeMs" => next.route_ms = as_route_ms(key, value, next.route_ms)?,
                "otherClientUnits" => {
                    next.other_client_units =
                        u32::try_from(as_u64(key, value)?).map_err(|_| format!("'{key}' is too large"))?
                }
                "methodsBudget" => next.methods_budget = as_budget(key, value)?,
                "envelope424" => {
                    next.envelope_424 = value.as_bool().ok_or_else(|| format!("'{key}' must be true or false"))?
                }
                "fault503" => next.fault503 = as_rate(key, value)?,
                "fault504" => next.fault504 = as_rate(key, value)?,
                "dropRate" => next.drop_rate = as_rate(key, value)?,
                "throttle" => {
                    next.throttle = match value {
                        Value::String(text) => ThrottleMode::parse(text),
                        Value::Bool(true) => Some(ThrottleMode::Auto),
                        Value::Bool(false) => Some(ThrottleMode::Off),
                        _ => None,
                    }
                    .ok_or_else(|| format!("'{key}' must be \"off\" or \"auto\""))?
                }
                "freeTenant" => {
                    next.free_tenant = value.as_bool().ok_or_else(|| format!("'{key}' must be true or false"))?
                }
                "readBudget" => next.read_budget = as_budget(key, value)?,
                "writeBudget" => next.write_budget = as_budget(key, value)?,
                _ if next.schema.apply(key, value)? => {}
                _ => {
                    return Err(format!(
                        "unknown setting '{key}' (known: latencyMs, jitterMs, pageMs, serverMs, tailRate, \
                         batchOverheadMs, routeMs, otherClientUnits, methodsBudget, envelope424, fault503, fault504, \
                         dropRate, bulkState, registrationTop, signInActivityAdvanced, upnRange, freeTenant, throttle, readBudget, \
                         writeBudget)"
                    ))
                }
            }
        }
        Ok(next)
    }
}

fn as_u64(key: &str, value: &Value) -> Result<u64, String> {
    value.as_u64().ok_or_else(|| format!("'{key}' must be a whole number >= 0"))
}

/// `{"requirements": 250, "batch": null}`: per-route server times (null: back to `serverMs`).
fn as_route_ms(key: &str, value: &Value, mut current: [Option<u64>; 7]) -> Result<[Option<u64>; 7], String> {
    let object = value.as_object().ok_or_else(|| format!("'{key}' must be an object of route names to ms"))?;
    for (route, ms) in object {
        let index = route_index(route)
            .ok_or_else(|| format!("'{key}': unknown route '{route}' (known: {})", ROUTE_NAMES.join(", ")))?;
        current[index] = match ms {
            Value::Null => None,
            _ => Some(ms.as_u64().ok_or_else(|| format!("'{key}.{route}' must be a whole number >= 0 or null"))?),
        };
    }
    Ok(current)
}

/// The index of a route name in [`ROUTE_NAMES`] (case-insensitive).
pub fn route_index(name: &str) -> Option<usize> {
    ROUTE_NAMES.iter().position(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// `requirements=250,batch=40` (the `--route-ms` flag) into per-route server times.
pub fn parse_route_ms(text: &str) -> Result<[Option<u64>; 7], String> {
    let mut routes = [None; 7];
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (route, ms) = pair.split_once('=').ok_or_else(|| format!("'{pair}' is not route=ms"))?;
        let index =
            route_index(route).ok_or_else(|| format!("unknown route '{route}' (known: {})", ROUTE_NAMES.join(", ")))?;
        routes[index] = Some(ms.trim().parse::<u64>().map_err(|_| format!("'{ms}' is not a whole number of ms"))?);
    }
    Ok(routes)
}

fn as_rate(key: &str, value: &Value) -> Result<f64, String> {
    match value.as_f64() {
        Some(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("'{key}' must be a number from 0 to 1")),
    }
}

fn as_budget(key: &str, value: &Value) -> Result<Option<u32>, String> {
    match value {
        Value::Null => Ok(None),
        _ => match value.as_u64() {
            Some(n) if n >= 1 && n <= u32::MAX as u64 => Ok(Some(n as u32)),
            _ => Err(format!("'{key}' must be a whole number >= 1, or null for the default")),
        },
    }
}

/// The full config as `GET /_sim/config` shows it.
pub fn config_json(config: &SimConfig, runtime: &RuntimeConfig, port: u16) -> Value {
    let mut map = Map::new();
    map.insert("port".into(), json!(port));
    map.insert("users".into(), json!(config.users));
    map.insert("seed".into(), json!(config.seed));
    map.insert("latencyMs".into(), json!(runtime.latency_ms));
    map.insert("jitterMs".into(), json!(runtime.jitter_ms));
    map.insert("pageMs".into(), json!(runtime.page_ms));
    map.insert("serverMs".into(), json!(runtime.server_ms));
    map.insert(
        "routeMs".into(),
        Value::Object(
            ROUTE_NAMES.iter().zip(runtime.route_ms).map(|(name, ms)| (name.to_string(), json!(ms))).collect(),
        ),
    );
    map.insert("tailRate".into(), json!(runtime.tail_rate));
    map.insert("batchOverheadMs".into(), json!(runtime.batch_overhead_ms));
    map.insert("otherClientUnits".into(), json!(runtime.other_client_units));
    map.insert("methodsBudget".into(), json!(runtime.methods_budget));
    map.insert("envelope424".into(), json!(runtime.envelope_424));
    map.insert("throttle".into(), json!(runtime.throttle.as_str()));
    map.insert("readBudget".into(), json!(runtime.read_budget));
    map.insert("writeBudget".into(), json!(runtime.write_budget));
    map.insert("effectiveReadBudget".into(), json!(runtime.effective_read_budget(config.users)));
    map.insert("effectiveWriteBudget".into(), json!(runtime.effective_write_budget()));
    runtime.schema.write_json(&mut map);
    map.insert("freeTenant".into(), json!(runtime.free_tenant));
    map.insert("fault503".into(), json!(runtime.fault503));
    map.insert("fault504".into(), json!(runtime.fault504));
    map.insert("dropRate".into(), json!(runtime.drop_rate));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_follow_tenant_size() {
        assert_eq!(default_read_budget(49), 3_500);
        assert_eq!(default_read_budget(50), 5_000);
        assert_eq!(default_read_budget(500), 5_000);
        assert_eq!(default_read_budget(501), 8_000);
    }

    #[test]
    fn partial_json_applies_or_refuses_as_a_whole() {
        let base = RuntimeConfig::default();
        let next = base.apply_json(&json!({"fault503": 0.5, "throttle": "auto", "readBudget": 10})).unwrap();
        assert_eq!(next.fault503, 0.5);
        assert_eq!(next.throttle, ThrottleMode::Auto);
        assert_eq!(next.read_budget, Some(10));
        let back = next.apply_json(&json!({"readBudget": null})).unwrap();
        assert_eq!(back.read_budget, None);
        assert!(base.apply_json(&json!({"fault503": 2})).is_err());
        let routes = base.apply_json(&json!({"routeMs": {"requirements": 250}, "tailRate": 0.03})).unwrap();
        assert_eq!(routes.route_ms[2], Some(250));
        assert!(base.apply_json(&json!({"routeMs": {"nowhere": 1}})).is_err());
        assert_eq!(parse_route_ms("batch=40, requirements=250").unwrap()[3], Some(40));
        assert!(parse_route_ms("batch").is_err());
        assert!(base.apply_json(&json!({"nope": 1})).is_err());
    }
}
