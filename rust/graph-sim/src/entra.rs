//! Sign-in: an Entra ID token endpoint for app registrations (client secret or certificate
//! client assertion), the managed identity endpoints of App Service / Azure Automation
//! (`IDENTITY_ENDPOINT`), older hosts (`MSI_ENDPOINT`), Cloud Shell, Azure Arc and IMDS, all
//! minting the same Graph tokens `/_sim/token` does. Refusals use the services' bodies and codes
//! (`AADSTS7000215`, `Identity not found`, ...), so clients can be tested on their messages.
//!
//! Test-only configuration: `POST /_sim/apps` (app registrations), `POST /_sim/identity`
//! (managed identities), `GET /_sim/tokens` and `POST /_sim/tokens/revoke`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use parking_lot::RwLock;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{TokenRequest, GRAPH_AUDIENCE};
use crate::clock;
use crate::routes::plain_json;
use crate::stats::bump;
use crate::tenant::{DOMAIN, INITIAL_DOMAIN};
use crate::x509::Certificate;
use crate::SimState;

/// The client id tokens of the system-assigned managed identity carry.
pub const SYSTEM_IDENTITY_CLIENT_ID: &str = "7d8a3c1e-0b5f-4e6a-9c2d-5f1e3a7b9c40";
pub const DEFAULT_IDENTITY_HEADER: &str = "sim-identity-header";
pub const DEFAULT_MSI_SECRET: &str = "sim-msi-secret";

/// An app registration.
#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub display_name: String,
    pub secrets: Vec<String>,
    pub certificates: Vec<Certificate>,
    pub roles: Vec<String>,
    pub lifetime_seconds: Option<i64>,
    /// False: token requests fail with AADSTS65001 (admin consent missing).
    pub consented: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySpec {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The host's managed identities.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// None: no system-assigned identity is enabled.
    pub system_assigned: Option<IdentitySpec>,
    pub user_assigned: Vec<IdentitySpec>,
    /// What `X-IDENTITY-HEADER` must be (`IDENTITY_HEADER`).
    pub identity_header: String,
    /// What the `Secret` header must be (`MSI_SECRET`).
    pub msi_secret: String,
    pub lifetime_seconds: Option<i64>,
    /// Azure Arc: the challenge names this file; its content is the key.
    pub arc_key_file: Option<String>,
    pub arc_key: Option<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            system_assigned: None,
            user_assigned: Vec::new(),
            identity_header: DEFAULT_IDENTITY_HEADER.into(),
            msi_secret: DEFAULT_MSI_SECRET.into(),
            lifetime_seconds: None,
            arc_key_file: None,
            arc_key: None,
        }
    }
}

/// App registrations and managed identities (they survive `/_sim/reset`, like tokens).
#[derive(Default)]
pub struct Directory {
    apps: RwLock<HashMap<String, App>>,
    identity: RwLock<IdentityConfig>,
}

impl Directory {
    pub fn app(&self, client_id: &str) -> Option<App> {
        self.apps.read().get(&client_id.to_ascii_lowercase()).cloned()
    }

    pub fn put_app(&self, app: App) {
        self.apps.write().insert(app.client_id.to_ascii_lowercase(), app);
    }

    pub fn identity(&self) -> IdentityConfig {
        self.identity.read().clone()
    }

    pub fn set_identity(&self, config: IdentityConfig) {
        *self.identity.write() = config;
    }
}

// ---- Test-only configuration ------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AppBody {
    client_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    certificates: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    lifetime_seconds: Option<i64>,
    #[serde(default)]
    consented: Option<bool>,
}

fn bad_request(message: impl Into<String>) -> Response {
    plain_json(StatusCode::BAD_REQUEST, &json!({"error": "invalid_request", "error_description": message.into()}))
}

fn app_json(app: &App) -> Value {
    json!({
        "clientId": app.client_id,
        "displayName": app.display_name,
        "roles": app.roles,
        "secrets": app.secrets.len(),
        "certificates": app.certificates.iter().map(|c| json!({
            "thumbprint": c.thumbprint(),
            "notBefore": clock::iso_utc(c.not_before),
            "notAfter": clock::iso_utc(c.not_after),
        })).collect::<Vec<_>>(),
        "lifetimeSeconds": app.lifetime_seconds,
        "consented": app.consented,
    })
}

/// `POST /_sim/apps`: registers (or replaces) an app registration.
/// `{"clientId":"…","secret":"…","certificate":"<PEM or base64 DER>","roles":[…],"lifetimeSeconds":N,"consented":true}`
pub async fn post_app(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let body: AppBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return bad_request(format!(
                "the body must be JSON like {{\"clientId\":\"…\",\"secret\":\"…\",\"roles\":[…]}}: {error}"
            ))
        }
    };
    if body.client_id.trim().is_empty() {
        return bad_request("clientId is required");
    }
    let mut certificates = Vec::new();
    for text in body.certificate.iter().chain(body.certificates.iter()) {
        match Certificate::parse(text) {
            Ok(cert) => certificates.push(cert),
            Err(error) => return bad_request(format!("certificate: {error}")),
        }
    }
    let app = App {
        client_id: body.client_id.trim().to_string(),
        display_name: body.display_name.unwrap_or_else(|| "graph-sim app".into()),
        secrets: body.secret.into_iter().chain(body.secrets).collect(),
        certificates,
        roles: body.roles,
        lifetime_seconds: body.lifetime_seconds,
        consented: body.consented.unwrap_or(true),
    };
    let answer = app_json(&app);
    sim.directory.put_app(app);
    plain_json(StatusCode::OK, &answer)
}

/// `GET /_sim/apps`: the registrations (secrets counted, never shown).
pub async fn get_apps(State(sim): State<Arc<SimState>>) -> Response {
    let apps: Vec<Value> = sim.directory.apps.read().values().map(app_json).collect();
    plain_json(StatusCode::OK, &Value::Array(apps))
}

fn identity_json(config: &IdentityConfig) -> Value {
    let spec = |s: &IdentitySpec| json!({"clientId": s.client_id, "roles": s.roles});
    json!({
        "systemAssigned": config.system_assigned.as_ref().map(spec),
        "userAssigned": config.user_assigned.iter().map(spec).collect::<Vec<_>>(),
        "identityHeader": config.identity_header,
        "msiSecret": config.msi_secret,
        "lifetimeSeconds": config.lifetime_seconds,
        "arcKeyFile": config.arc_key_file,
        "systemAssignedClientId": SYSTEM_IDENTITY_CLIENT_ID,
    })
}

/// `POST /_sim/identity` with any of `systemAssigned` (`{"roles":[…]}` or null), `userAssigned`
/// (`[{"clientId":"…","roles":[…]}]`), `identityHeader`, `msiSecret`, `lifetimeSeconds`,
/// `arcKeyFile` + `arcKey`. Keys not given keep their value.
pub async fn post_identity(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => return bad_request("the body must be a JSON object"),
    };
    let mut config = sim.directory.identity();
    for (key, value) in patch.as_object().unwrap() {
        let outcome: Result<(), String> = (|| {
            match key.as_str() {
                "systemAssigned" => config.system_assigned = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?,
                "userAssigned" => config.user_assigned = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?,
                "identityHeader" => config.identity_header = value.as_str().ok_or("must be a string")?.to_string(),
                "msiSecret" => config.msi_secret = value.as_str().ok_or("must be a string")?.to_string(),
                "lifetimeSeconds" => config.lifetime_seconds = value.as_i64(),
                "arcKeyFile" => config.arc_key_file = value.as_str().map(str::to_string),
                "arcKey" => config.arc_key = value.as_str().map(str::to_string),
                _ => return Err("unknown setting (known: systemAssigned, userAssigned, identityHeader, msiSecret, lifetimeSeconds, arcKeyFile, arcKey)".into()),
            }
            Ok(())
        })();
        if let Err(why) = outcome {
            return bad_request(format!("'{key}': {why}"));
        }
    }
    let answer = identity_json(&config);
    sim.directory.set_identity(config);
    plain_json(StatusCode::OK, &answer)
}

pub async fn get_identity(State(sim): State<Arc<SimState>>) -> Response {
    plain_json(StatusCode::OK, &identity_json(&sim.directory.identity()))
}

/// `GET /_sim/tokens`: every token issued (oldest first) and how many Graph requests got 401.
pub async fn get_tokens(State(sim): State<Arc<SimState>>) -> Response {
    plain_json(StatusCode::OK, &json!({ "issued": sim.authority.issued(), "rejected401": sim.authority.rejected() }))
}

/// `POST /_sim/tokens/revoke` (optional `{"appId":"…"}`): tokens issued so far answer 401 from now on.
pub async fn revoke_tokens(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let app_id = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["appId"].as_str().map(str::to_string));
    let revoked = sim.authority.revoke(app_id.as_deref());
    plain_json(StatusCode::OK, &json!({ "revoked": revoked }))
}

// ---- Entra ID token endpoint --------------------------------------------------------------------

/// An Entra ID refusal: `{"error","error_description":"AADSTSnnnn: …\r\nTrace ID…","error_codes":[n],…}`.
pub fn entra_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let now = clock::unix_now();
    let timestamp = clock::iso_utc(now).replace('T', " ");
    plain_json(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn form(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

fn is_graph_resource(resource: &str) -> bool {
    resource.trim_end_matches('/').eq_ignore_ascii_case(GRAPH_AUDIENCE)
}

fn known_tenant(sim: &SimState, tenant: &str) -> bool {
    [sim.authority.tenant_id(), INITIAL_DOMAIN, DOMAIN].iter().any(|t| t.eq_ignore_ascii_case(tenant))
}

/// `POST /{tenant}/oauth2/v2.0/token`: the client credentials grant, with `client_secret` or a
/// `client_assertion` (RS256 JWT signed by one of the app's certificates).
pub async fn token(State(sim): State<Arc<SimState>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    bump(&sim.stats.token_requests);
    let form = form(&body);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if !known_tenant(&sim, &tenant) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
        );
    }
    if field("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let client_id = field("client_id");
    let Some(app) = sim.directory.app(client_id) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        );
    };
    let scope = field("scope");
    match scope.strip_suffix("/.default") {
        Some(resource) if is_graph_resource(resource) => {}
        Some(resource) => {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500011,
                &format!("The resource principal named {resource} was not found in the tenant named Contoso. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."),
            )
        }
        None => {
            return entra_error(StatusCode::BAD_REQUEST, "invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."))
        }
    }
    let via = if let Some(secret) = form.get("client_secret") {
        if !app.secrets.iter().any(|s| s == secret) {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id),
            );
        }
        "clientSecret"
    } else if form.contains_key("client_assertion") {
        if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
            return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 50027, "Invalid client_assertion_type.");
        }
        if let Err(response) = check_assertion(&app, &tenant, field("client_assertion")) {
            return response;
        }
        "certificate"
    } else {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    if !app.consented {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            65001,
            &format!("The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.", app.client_id, app.display_name),
        );
    }
    issue(
        &sim,
        TokenRequest {
            roles: Some(app.roles.clone()),
            lifetime_seconds: app.lifetime_seconds,
            app_id: Some(app.client_id.clone()),
            scp: None,
        },
        via,
        |issued| json!({"token_type": "Bearer", "expires_in": issued.expires_in, "ext_expires_in": issued.expires_in, "access_token": issued.access_token}),
    )
}

fn issue(
    sim: &SimState,
    request: TokenRequest,
    via: &str,
    shape: impl FnOnce(&crate::auth::IssuedToken) -> Value,
) -> Response {
    match sim.authority.issue_via(&request, via) {
        Ok(issued) => {
            bump(&sim.stats.tokens_issued);
            plain_json(StatusCode::OK, &shape(&issued))
        }
        Err(message) => plain_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": "server_error", "error_description": message}),
        ),
    }
}

#[allow(clippy::result_large_err)] // the refusal is the HTTP answer itself
fn check_assertion(app: &App, tenant: &str, assertion: &str) -> Result<(), Response> {
    let invalid = |code: u32, text: String| Err(entra_error(StatusCode::UNAUTHORIZED, "invalid_client", code, &text));
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return invalid(50027, "JWT token is invalid or malformed.".into());
    }
    let decode =
        |part: &str| URL_SAFE_NO_PAD.decode(part).ok().and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let (Some(header), Some(claims), Ok(signature)) =
        (decode(parts[0]), decode(parts[1]), URL_SAFE_NO_PAD.decode(parts[2]))
    else {
        return invalid(50027, "JWT token is invalid or malformed.".into());
    };
    if header["alg"] != "RS256" {
        return invalid(
            5002738,
            format!(
                "Invalid JWT token. '{}' is not a supported signature algorithm.",
                header["alg"].as_str().unwrap_or("")
            ),
        );
    }
    let by_sha1 = header["x5t"].as_str().and_then(|t| URL_SAFE_NO_PAD.decode(t).ok());
    let by_sha256 = header["x5t#S256"].as_str().and_then(|t| URL_SAFE_NO_PAD.decode(t).ok());
    let shown = by_sha1.as_ref().map(|b| b.iter().map(|x| format!("{x:02X}")).collect::<String>()).unwrap_or_default();
    let cert =
        app.certificates.iter().find(|c| Some(&c.sha1) == by_sha1.as_ref() || Some(&c.sha256) == by_sha256.as_ref());
    let Some(cert) = cert else {
        return invalid(700027, format!("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]", app.client_id));
    };
    let now = clock::unix_now();
    if cert.not_after <= now || cert.not_before > now {
        return invalid(700027, format!("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{}', Found key 'Start={}, End={}'.]", cert.thumbprint(), clock::iso_utc(cert.not_before), clock::iso_utc(cert.not_after)));
    }
    if !cert.verify_rs256(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature) {
        return invalid(700027, format!("Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{}'.]", cert.thumbprint()));
    }
    if claims["iss"].as_str() != Some(app.client_id.as_str()) || claims["sub"].as_str() != Some(app.client_id.as_str())
    {
        return invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter.".into());
    }
    let aud = claims["aud"].as_str().unwrap_or("");
    if !aud.to_ascii_lowercase().ends_with(&format!("/{}/oauth2/v2.0/token", tenant.to_ascii_lowercase())) {
        return invalid(
            50027,
            format!("JWT token is invalid or malformed. [Reason - The audience '{aud}' is not this token endpoint.]"),
        );
    }
    let (exp, nbf) = (claims["exp"].as_i64().unwrap_or(0), claims["nbf"].as_i64().unwrap_or(0));
    if exp <= now || nbf > now + 300 {
        return invalid(700024, format!("Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.", clock::iso_utc(now), clock::iso_utc(nbf), clock::iso_utc(exp)));
    }
    Ok(())
}

// ---- Managed identity endpoints -----------------------------------------------------------------

fn query(raw: Option<&str>) -> HashMap<String, String> {
    form(raw.unwrap_or("").as_bytes())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The identity a request names: the user-assigned one with `client_id`, or the system-assigned one.
fn find_identity(config: &IdentityConfig, client_id: Option<&str>) -> Option<(String, Vec<String>)> {
    match client_id.filter(|c| !c.is_empty()) {
        Some(id) => config
            .user_assigned
            .iter()
            .find(|s| s.client_id.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(id)))
            .map(|s| (id.to_string(), s.roles.clone())),
        None => config
            .system_assigned
            .as_ref()
            .map(|s| (s.client_id.clone().unwrap_or_else(|| SYSTEM_IDENTITY_CLIENT_ID.into()), s.roles.clone())),
    }
}

fn identity_token(
    sim: &SimState,
    config: &IdentityConfig,
    client_id: String,
    roles: Vec<String>,
    resource: &str,
    shape: IdentityShape,
) -> Response {
    let request = TokenRequest {
        roles: Some(roles),
        lifetime_seconds: config.lifetime_seconds,
        app_id: Some(client_id.clone()),
        scp: None,
    };
    issue(sim, request, "managedIdentity", |issued| {
        let now = clock::unix_now();
        let expires_on = now + issued.expires_in;
        let mut body = json!({
            "access_token": issued.access_token,
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        });
        match shape {
            IdentityShape::AppService => body["expires_on"] = json!(expires_on.to_string()),
            IdentityShape::Legacy => body["expires_on"] = json!(legacy_date(expires_on)),
            IdentityShape::Imds => {
                body["expires_on"] = json!(expires_on.to_string());
                body["expires_in"] = json!(issued.expires_in.to_string());
                body["ext_expires_in"] = json!(issued.expires_in.to_string());
                body["not_before"] = json!(now.to_string());
            }
        }
        body
    })
}

#[derive(Clone, Copy)]
enum IdentityShape {
    AppService,
    Legacy,
    Imds,
}

/// `09/14/2017 03:04:05 PM +00:00`, the 2017-09-01 App Service form.
fn legacy_date(unix: i64) -> String {
    let iso = clock::iso_utc(unix); // 2017-09-14T15:04:05Z
    let (date, time) = iso.trim_end_matches('Z').split_once('T').unwrap_or(("1970-01-01", "00:00:00"));
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<u32> = time.split(':').map(|p| p.parse().unwrap_or(0)).collect();
    let (hour, half) = match t[0] {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!("{}/{}/{} {:02}:{:02}:{:02} {half} +00:00", d[1], d[2], d[0], hour, t[1], t[2])
}

fn app_service_error(status: StatusCode, message: &str) -> Response {
    plain_json(
        status,
        &json!({"statusCode": status.as_u16(), "message": message, "correlationId": uuid::Uuid::new_v4().to_string()}),
    )
}

/// `GET /msi/token`: App Service / Azure Automation (`api-version=2019-08-01`, header
/// `X-IDENTITY-HEADER`, `client_id`) and the older form (`2017-09-01`, header `Secret`, `clientid`).
pub async fn msi_get(State(sim): State<Arc<SimState>>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    bump(&sim.stats.token_requests);
    let query = query(raw.as_deref());
    let config = sim.directory.identity();
    let version = query.get("api-version").map(String::as_str).unwrap_or("");
    let (authorized, shape, client_id) = match version {
        "2019-08-01" => (
            header(&headers, "x-identity-header") == Some(config.identity_header.as_str()),
            IdentityShape::AppService,
            query.get("client_id"),
        ),
        "2017-09-01" => (
            header(&headers, "secret") == Some(config.msi_secret.as_str()),
            IdentityShape::Legacy,
            query.get("clientid"),
        ),
        _ => {
            return app_service_error(
                StatusCode::BAD_REQUEST,
                &format!("The api-version '{version}' is not supported. Use 2019-08-01."),
            )
        }
    };
    if !authorized {
        return app_service_error(
            StatusCode::UNAUTHORIZED,
            "The request is not authorized: the identity header is missing or does not match.",
        );
    }
    let resource = query.get("resource").map(String::as_str).unwrap_or("");
    if !is_graph_resource(resource) {
        return app_service_error(
            StatusCode::BAD_REQUEST,
            &format!("AADSTS500011: The resource principal named {resource} was not found in the tenant."),
        );
    }
    match find_identity(&config, client_id.map(String::as_str)) {
        Some((id, roles)) => identity_token(&sim, &config, id, roles, resource, shape),
        None => app_service_error(
            StatusCode::BAD_REQUEST,
            "No Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
        ),
    }
}

/// `POST /msi/token`: Cloud Shell (`MSI_ENDPOINT` without a secret): form `resource`, header `Metadata: true`.
pub async fn msi_post(State(sim): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> Response {
    bump(&sim.stats.token_requests);
    if header(&headers, "metadata") != Some("true") {
        return plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
        );
    }
    let form = form(&body);
    let config = sim.directory.identity();
    let resource = form.get("resource").map(String::as_str).unwrap_or("");
    if !is_graph_resource(resource) {
        return plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_resource", "error_description": "AADSTS500011: The resource principal was not found."}),
        );
    }
    match find_identity(&config, form.get("client_id").map(String::as_str)) {
        Some((id, roles)) => identity_token(&sim, &config, id, roles, resource, IdentityShape::AppService),
        None => plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Identity not found"}),
        ),
    }
}

/// `GET /metadata/identity/oauth2/token`: IMDS (header `Metadata: true`), and Azure Arc
/// (`api-version=2020-06-01`: first a 401 challenge naming the key file, then `Basic <key>`).
pub async fn imds(State(sim): State<Arc<SimState>>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    bump(&sim.stats.token_requests);
    let query = query(raw.as_deref());
    let config = sim.directory.identity();
    if header(&headers, "metadata") != Some("true") {
        return plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
        );
    }
    if query.get("api-version").map(String::as_str) == Some("2020-06-01") {
        let (Some(file), Some(key)) = (&config.arc_key_file, &config.arc_key) else {
            return plain_json(
                StatusCode::BAD_REQUEST,
                &json!({"error": "invalid_request", "error_description": "Azure Arc is not configured (POST /_sim/identity arcKeyFile, arcKey)"}),
            );
        };
        let expected = format!("Basic {key}");
        if header(&headers, "authorization") != Some(expected.as_str()) {
            let mut response = plain_json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "unauthorized", "error_description": "challenge"}),
            );
            if let Ok(value) = format!("Basic realm={file}").parse() {
                response.headers_mut().insert("www-authenticate", value);
            }
            return response;
        }
    }
    let resource = query.get("resource").map(String::as_str).unwrap_or("");
    if resource.is_empty() {
        return plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
        );
    }
    if !is_graph_resource(resource) {
        return plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_resource", "error_description": format!("AADSTS500011: The resource principal named {resource} was not found in the tenant.")}),
        );
    }
    match find_identity(&config, query.get("client_id").map(String::as_str)) {
        Some((id, roles)) => identity_token(&sim, &config, id, roles, resource, IdentityShape::Imds),
        None => plain_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Identity not found"}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent() {
        let parsed = form(b"scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret=a+b%2Bc&flag");
        assert_eq!(parsed["scope"], "https://graph.microsoft.com/.default");
        assert_eq!(parsed["client_secret"], "a b+c");
        assert_eq!(parsed["flag"], "");
    }

    #[test]
    fn legacy_dates_use_twelve_hour_clock() {
        assert_eq!(legacy_date(1_505_390_400), "09/14/2017 12:00:00 PM +00:00");
        assert_eq!(legacy_date(1_505_347_200), "09/14/2017 12:00:00 AM +00:00");
        assert_eq!(legacy_date(1_505_401_445), "09/14/2017 03:04:05 PM +00:00");
    }
}
