//! Managed identity: the token endpoint the Azure host provides.
//!
//! | host | environment | request |
//! |---|---|---|
//! | Azure Automation, App Service, Functions | `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` | `GET ?api-version=2019-08-01&resource=…[&client_id=…]`, header `X-IDENTITY-HEADER` |
//! | older hybrid workers, App Service (2017) | `MSI_ENDPOINT` + `MSI_SECRET` | `GET ?api-version=2017-09-01&resource=…[&clientid=…]`, header `Secret` |
//! | Cloud Shell | `MSI_ENDPOINT` alone | `POST` form `resource=…`, header `Metadata: true` |
//! | Azure Arc | `IDENTITY_ENDPOINT` + `IMDS_ENDPOINT` | `GET ?api-version=2020-06-01&resource=…`, `Metadata: true`, then the challenge file's `Basic` key |
//! | Azure VMs | none | IMDS `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`, `Metadata: true` |
//!
//! Done here rather than with `azure_identity::ManagedIdentityCredential`, which reads the
//! process environment itself (on Linux and macOS .NET keeps its own copy, so variables set in
//! the PowerShell session never reach it), has no IMDS endpoint override, and supports neither
//! `MSI_ENDPOINT`/`MSI_SECRET` nor Arc. The host passes the variables it sees; the IMDS address
//! can be overridden with `AZURE_POD_IDENTITY_AUTHORITY_HOST` as in the Azure SDKs (the tests
//! point it at the simulator on loopback), and defaults to the real IMDS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::Url;
use serde_json::Value;

use super::entra::{self, EntraError, Method, SignInContext};
use crate::error::{EngineError, ErrorKind};
use crate::graph::auth::{Token, TokenSource};
use crate::secret::Secret;
use crate::utc::days_from_civil;

pub const IMDS_DEFAULT: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// Tries against IMDS for 404/410/429/5xx (its documented transient answers).
const IMDS_TRIES: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AppService,
    LegacyMsi,
    CloudShell,
    Arc,
    Imds,
}

impl Kind {
    /// As Get-PerUserMfaConnection shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AppService => "AppService",
            Kind::LegacyMsi => "MsiEndpoint",
            Kind::CloudShell => "CloudShell",
            Kind::Arc => "AzureArc",
            Kind::Imds => "Imds",
        }
    }

    fn host_words(self) -> &'static str {
        match self {
            Kind::AppService => "the Azure Automation account or App Service",
            Kind::LegacyMsi => "the hybrid worker or App Service",
            Kind::CloudShell => "Cloud Shell",
            Kind::Arc => "the Arc-enabled server",
            Kind::Imds => "the virtual machine",
        }
    }
}

pub struct ManagedIdentity {
    http: reqwest::Client,
    kind: Kind,
    endpoint: Url,
    secret: Secret,
    client_id: Option<String>,
    resource: String,
    /// Where Arc's challenge files may be (Arc writes them only there).
    arc_key_dir: PathBuf,
    context: SignInContext,
}

fn var<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

fn parse_endpoint(name: &str, value: &str) -> Result<Url, EngineError> {
    let url = Url::parse(value).map_err(|_| {
        EngineError::invalid_input(format!("The environment variable {name} ('{value}') is not a URL, so the managed identity endpoint cannot be used."))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EngineError::invalid_input(format!(
            "The environment variable {name} ('{value}') is not an http(s) URL."
        )));
    }
    Ok(url)
}

impl ManagedIdentity {
    /// Picks the source from the environment the host sees. `secret` is the value of
    /// `secret_variable` (`IDENTITY_HEADER` or `MSI_SECRET`), when that variable is set.
    pub fn detect(
        http: reqwest::Client,
        env: &BTreeMap<String, String>,
        secret: Secret,
        secret_variable: Option<&str>,
        client_id: Option<String>,
        resource: &str,
    ) -> Result<ManagedIdentity, EngineError> {
        let has_secret =
            |name: &str| secret_variable.is_some_and(|v| v.eq_ignore_ascii_case(name)) && !secret.is_empty();
        let (kind, endpoint) = if let Some(endpoint) = var(env, "IDENTITY_ENDPOINT")
            .filter(|_| has_secret("IDENTITY_HEADER") || var(env, "IMDS_ENDPOINT").is_some())
        {
            if has_secret("IDENTITY_HEADER") {
                if var(env, "IDENTITY_SERVER_THUMBPRINT").is_some() {
                    return Err(EngineError::new(
                        ErrorKind::SignInFailed,
                        "This looks like Azure Service Fabric (IDENTITY_SERVER_THUMBPRINT is set), whose managed identity PerUserMfa does not support. Sign in with -CertificatePath or -ClientSecret instead.",
                    ));
                }
                (Kind::AppService, parse_endpoint("IDENTITY_ENDPOINT", endpoint)?)
            } else {
                (Kind::Arc, parse_endpoint("IDENTITY_ENDPOINT", endpoint)?)
            }
        } else if let Some(endpoint) = var(env, "MSI_ENDPOINT") {
            let kind = if has_secret("MSI_SECRET") { Kind::LegacyMsi } else { Kind::CloudShell };
            (kind, parse_endpoint("MSI_ENDPOINT", endpoint)?)
        } else {
            let host = var(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or(IMDS_DEFAULT);
            let base = parse_endpoint("AZURE_POD_IDENTITY_AUTHORITY_HOST", host)?;
            let endpoint =
                base.join(IMDS_PATH).map_err(|_| EngineError::invalid_input("The IMDS address is not valid."))?;
            (Kind::Imds, endpoint)
        };
        if kind == Kind::Arc && client_id.is_some() {
            return Err(EngineError::invalid_input(
                "Azure Arc supports only the server's system-assigned identity: run Connect-PerUserMfa -Identity without -ClientId.",
            ));
        }
        let context = SignInContext {
            method: Method::ManagedIdentity,
            tenant_id: None,
            client_id: client_id.clone(),
            thumbprint: None,
            authority: endpoint.origin().ascii_serialization(),
        };
        Ok(ManagedIdentity {
            http,
            kind,
            endpoint,
            secret: if matches!(kind, Kind::AppService | Kind::LegacyMsi) { secret } else { Secret::empty() },
            client_id,
            resource: resource.trim_end_matches('/').to_string(),
            arc_key_dir: default_arc_key_dir(),
            context,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    #[cfg(test)]
    pub fn with_arc_key_dir(mut self, dir: PathBuf) -> ManagedIdentity {
        self.arc_key_dir = dir;
        self
    }

    fn request(&self, authorization: Option<&str>) -> reqwest::RequestBuilder {
        let mut url = self.endpoint.clone();
        let builder = match self.kind {
            Kind::CloudShell => {
                let mut form = vec![("resource", self.resource.as_str())];
                if let Some(id) = &self.client_id {
                    form.push(("client_id", id));
                }
                let body = form.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect::<Vec<_>>().join("&");
                self.http
                    .post(url)
                    .header("Metadata", "true")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            kind => {
                {
                    let mut query = url.query_pairs_mut();
                    let version = match kind {
                        Kind::AppService => "2019-08-01",
                        Kind::LegacyMsi => "2017-09-01",
                        Kind::Arc => "2020-06-01",
                        _ => "2018-02-01",
                    };
                    query.append_pair("api-version", version).append_pair("resource", &self.resource);
                    if let Some(id) = &self.client_id {
                        query.append_pair(if kind == Kind::LegacyMsi { "clientid" } else { "client_id" }, id);
                    }
                }
                let builder = self.http.get(url);
                match kind {
                    Kind::AppService => builder.header("X-IDENTITY-HEADER", self.secret.expose()),
                    Kind::LegacyMsi => builder.header("Secret", self.secret.expose()),
                    _ => builder.header("Metadata", "true"),
                }
            }
        };
        match authorization {
            Some(value) => builder.header("Authorization", value),
            None => builder,
        }
    }

    async fn send(
        &self,
        authorization: Option<&str>,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), EngineError> {
        let response = self.request(authorization).send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| self.unreachable(&e))?.to_vec();
        Ok((status, headers, body))
    }

    fn unreachable(&self, error: &reqwest::Error) -> EngineError {
        let cause = crate::graph::client::describe_transport(error);
        let message = match self.kind {
            Kind::Imds => format!(
                "No managed identity is available here: neither IDENTITY_ENDPOINT (Azure Automation, App Service, \
                 Functions) nor MSI_ENDPOINT is set, and the Azure Instance Metadata Service at {} did not answer \
                 ({cause}). Connect-PerUserMfa -Identity works inside Azure: Automation runbooks, App Service and \
                 Functions, virtual machines and Arc-enabled servers with a managed identity. Elsewhere sign in with \
                 -ClientSecret, -CertificatePath, -AzureCli or Connect-MgGraph.",
                self.endpoint.origin().ascii_serialization()
            ),
            _ => format!(
                "The managed identity endpoint of {} ({}) could not be reached ({cause}). Run the command again; if it \
                 keeps failing, restart the job or the app.",
                self.kind.host_words(),
                self.endpoint.origin().ascii_serialization()
            ),
        };
        EngineError::new(ErrorKind::SignInFailed, message)
    }

    fn refused(&self, status: u16, body: &[u8]) -> EngineError {
        let parsed = EntraError::from_body(Some(status), body);
        if parsed.code().is_some() {
            return entra::explain(&parsed, &self.context);
        }
        let said = parsed.summary();
        let which = match &self.client_id {
            Some(id) => format!("the user-assigned managed identity with client id '{id}'"),
            None => "a system-assigned managed identity".to_string(),
        };
        let lower = said.to_ascii_lowercase();
        let not_found = status == 404
            || ((status == 400 || status == 401 || status == 403)
                && (lower.contains("identity not found")
                    || lower.contains("no managed identity")
                    || lower.contains("not found")));
        let message = if not_found {
            let enable = match self.kind {
                Kind::AppService | Kind::LegacyMsi => {
                    "Turn it on: Automation account > Account Settings > Identity > System assigned: On (App Service or \
                     Functions: Settings > Identity); or attach a user-assigned identity there and pass its client id with \
                     Connect-PerUserMfa -Identity -ClientId <client id>."
                }
                Kind::Imds | Kind::Arc | Kind::CloudShell => {
                    "Turn it on: Azure portal > (the virtual machine) > Security > Identity > System assigned: On; or \
                     assign a user-assigned identity to it and pass its client id with Connect-PerUserMfa -Identity -ClientId <client id>."
                }
            };
            format!(
                "{} has no {which} enabled, so it cannot sign in with -Identity (HTTP {status}: {}). {enable} Then grant \
                 the identity the Microsoft Graph application permissions (New-MgServicePrincipalAppRoleAssignment).",
                capitalise(self.kind.host_words()),
                if said.is_empty() { "no details".into() } else { said }
            )
        } else if matches!(status, 401 | 403) && matches!(self.kind, Kind::AppService | Kind::LegacyMsi) {
            format!(
                "The managed identity endpoint of {} refused the request (HTTP {status}: {said}). The {} value this \
                 process sees may be stale: start a new job or restart the app.",
                self.kind.host_words(),
                if self.kind == Kind::AppService { "IDENTITY_HEADER" } else { "MSI_SECRET" }
            )
        } else {
            format!(
                "The managed identity endpoint of {} refused to issue a token for {which} (HTTP {status}: {}).",
                self.kind.host_words(),
                if said.is_empty() { "no details".into() } else { said }
            )
        };
        EngineError {
            kind: ErrorKind::SignInFailed,
            message,
            status: Some(status),
            graph_code: parsed.error.clone(),
            request_id: parsed.correlation_id,
        }
    }

    /// Arc answers the first request with 401 and `WWW-Authenticate: Basic realm=<key file>`;
    /// the file's content is the key for a second request. The file must be a `.key` file in
    /// the agent's token folder, at most 4 KiB.
    fn arc_key(&self, headers: &reqwest::header::HeaderMap) -> Result<String, EngineError> {
        let fail = |why: String| {
            EngineError::new(
                ErrorKind::SignInFailed,
                format!("Azure Arc's managed identity challenge could not be answered: {why}."),
            )
        };
        let challenge = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| fail("the endpoint sent no WWW-Authenticate header".into()))?;
        let path = challenge
            .split_once("realm=")
            .map(|(_, p)| p.trim().trim_matches('"'))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| fail("the challenge names no key file".into()))?;
        let path = Path::new(path);
        let allowed = path.parent().is_some_and(|parent| parent == self.arc_key_dir.as_path())
            && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("key"));
        if !allowed {
            return Err(fail(format!(
                "the key file '{}' is not a .key file in {}",
                path.display(),
                self.arc_key_dir.display()
            )));
        }
        let size = std::fs::metadata(path).map_err(|e| fail(format!("the key file cannot be read ({e}); run PowerShell as an administrator or a member of the himds group")))?.len();
        if size > 4096 {
            return Err(fail("the key file is larger than 4 KiB".into()));
        }
        let key = std::fs::read_to_string(path).map_err(|e| fail(format!("the key file cannot be read ({e})")))?;
        Ok(format!("Basic {}", key.trim()))
    }

    async fn fetch_once(&self) -> Result<Token, EngineError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let (mut status, mut headers, mut body) = self.send(None).await?;
            if self.kind == Kind::Arc && status == 401 {
                let key = Secret::new(self.arc_key(&headers)?);
                (status, headers, body) = self.send(Some(key.expose())).await?;
            }
            let _ = &headers;
            if (200..300).contains(&status) {
                return self.token_from(&body);
            }
            let transient = matches!(status, 404 | 410 | 429) || status >= 500;
            if self.kind == Kind::Imds
                && transient
                && tries < IMDS_TRIES
                && !(status == 404 && body_says_identity_missing(&body))
            {
                tokio::time::sleep(Duration::from_millis(500 * u64::from(tries))).await;
                continue;
            }
            if self.kind != Kind::Imds && status >= 500 && tries < 2 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            return Err(self.refused(status, &body));
        }
    }

    fn token_from(&self, body: &[u8]) -> Result<Token, EngineError> {
        let mut parsed: Value = serde_json::from_slice(body).map_err(|_| {
            EngineError::new(
                ErrorKind::SignInFailed,
                format!(
                    "The managed identity endpoint of {} answered with something that is not a token.",
                    self.kind.host_words()
                ),
            )
        })?;
        let now = SystemTime::now();
        // `get_mut`, not `["access_token"]`: indexing a JSON array or string with a key panics.
        let secret = match parsed.get_mut("access_token").map(Value::take).unwrap_or_default() {
            Value::String(token) if !token.is_empty() => Secret::new(token),
            _ => {
                return Err(EngineError::new(
                    ErrorKind::SignInFailed,
                    "The managed identity endpoint's answer had no access_token.",
                ))
            }
        };
        let expires_on = parse_expires_on(&parsed["expires_on"]).or_else(|| {
            let seconds = parsed["expires_in"]
                .as_u64()
                .or_else(|| parsed["expires_in"].as_str().and_then(|s| s.trim().parse().ok()))?;
            super::seconds_after(now, seconds)
        });
        Ok(Token::new(secret, expires_on, now))
    }
}

fn body_says_identity_missing(body: &[u8]) -> bool {
    String::from_utf8_lossy(body).to_ascii_lowercase().contains("identity not found")
}

#[async_trait]
impl TokenSource for ManagedIdentity {
    async fn fetch(&self, _after_rejection: bool) -> Result<Token, EngineError> {
        self.fetch_once().await
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn form_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn default_arc_key_dir() -> PathBuf {
    if cfg!(windows) {
        let data =
            std::env::var_os("ProgramData").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        data.join("AzureConnectedMachineAgent").join("Tokens")
    } else {
        PathBuf::from("/var/opt/azcmagent/tokens")
    }
}

/// `expires_on` as managed identity endpoints send it: Unix seconds (number or string), or the
/// 2017-09-01 App Service form `MM/dd/yyyy hh:mm:ss AM +00:00`.
pub fn parse_expires_on(value: &Value) -> Option<SystemTime> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    if let Ok(seconds) = text.parse::<u64>() {
        return super::unix_time(seconds);
    }
    // 09/14/2017 00:00:00 PM +00:00
    let parts: Vec<&str> = text.split_whitespace().collect();
    let (date, time) = (parts.first()?, parts.get(1)?);
    let date: Vec<i64> = date.split('/').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let time: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if date.len() != 3 || time.len() != 3 {
        return None;
    }
    let mut hour = time[0];
    match parts.get(2).map(|s| s.to_ascii_uppercase()) {
        Some(ref p) if p == "PM" && hour < 12 => hour += 12,
        Some(ref p) if p == "AM" && hour == 12 => hour = 0,
        _ => {}
    }
    let offset_minutes = parts
        .iter()
        .find(|p| p.starts_with('+') || p.starts_with('-'))
        .and_then(|p| {
            let sign = if p.starts_with('-') { -1 } else { 1 };
            let (h, m) = p[1..].split_once(':')?;
            Some(sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?))
        })
        .unwrap_or(0);
    let days = days_from_civil(date[2], date[0] as u32, date[1] as u32);
    // Every part comes from the endpoint's text: checked, so a year like 99999999999999 is None.
    let seconds = days
        .checked_mul(86_400)?
        .checked_add(hour.checked_mul(3600)?)?
        .checked_add(time[1].checked_mul(60)?)?
        .checked_add(time[2])?
        .checked_sub(offset_minutes.checked_mul(60)?)?;
    super::unix_time(u64::try_from(seconds).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::UNIX_EPOCH;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn detect(
        pairs: &[(&str, &str)],
        secret: &str,
        secret_variable: Option<&str>,
    ) -> Result<ManagedIdentity, EngineError> {
        ManagedIdentity::detect(
            reqwest::Client::new(),
            &env(pairs),
            Secret::new(secret.into()),
            secret_variable,
            None,
            "https://graph.microsoft.com",
        )
    }

    #[test]
    fn the_environment_picks_the_source() {
        let app =
            detect(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:4000/msi/token")], "h", Some("IDENTITY_HEADER")).unwrap();
        assert_eq!(app.kind(), Kind::AppService);
        let arc = detect(
            &[
                ("IDENTITY_ENDPOINT", "http://localhost:40342/metadata/identity/oauth2/token"),
                ("IMDS_ENDPOINT", "http://localhost:40342"),
            ],
            "",
            None,
        )
        .unwrap();
        assert_eq!(arc.kind(), Kind::Arc);
        let legacy = detect(&[("MSI_ENDPOINT", "http://127.0.0.1:4000/msi/token")], "s", Some("MSI_SECRET")).unwrap();
        assert_eq!(legacy.kind(), Kind::LegacyMsi);
        let shell = detect(&[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")], "", None).unwrap();
        assert_eq!(shell.kind(), Kind::CloudShell);
        let imds = detect(&[], "", None).unwrap();
        assert_eq!(imds.kind(), Kind::Imds);
        assert_eq!(imds.endpoint().as_str(), "http://169.254.169.254/metadata/identity/oauth2/token");
        let overridden = detect(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9/")], "", None).unwrap();
        assert_eq!(overridden.endpoint().as_str(), "http://127.0.0.1:9/metadata/identity/oauth2/token");
        assert!(detect(
            &[("IDENTITY_ENDPOINT", "http://x"), ("IDENTITY_SERVER_THUMBPRINT", "t")],
            "h",
            Some("IDENTITY_HEADER")
        )
        .is_err());
        assert!(detect(&[("IDENTITY_ENDPOINT", "not a url")], "h", Some("IDENTITY_HEADER")).is_err());
    }

    #[test]
    fn absurd_lifetimes_read_as_unknown_instead_of_panicking() {
        let identity =
            detect(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:4000/msi/token")], "h", Some("IDENTITY_HEADER")).unwrap();
        for body in [
            json!({"access_token": "t", "expires_in": u64::MAX}),
            json!({"access_token": "t", "expires_in": u64::MAX.to_string()}),
            json!({"access_token": "t", "expires_on": u64::MAX}),
            json!({"access_token": "t", "expires_on": "09/14/99999999999999 12:00:00 PM +00:00"}),
            json!({"access_token": "t", "expires_on": "09/14/2017 12:00:00 PM +99999999999999:00"}),
        ] {
            let token = identity.token_from(body.to_string().as_bytes()).unwrap();
            assert_eq!(token.expires_on, None, "{body}");
            assert!(!token.needs_refresh(SystemTime::now()));
        }
        let token = identity.token_from(br#"{"access_token":"t","expires_in":3599}"#).unwrap();
        assert!(token.expires_on.is_some());
        for body in [&b"[]"[..], b"\"token\"", b"7"] {
            let error = identity.token_from(body).err().expect("no token in a body that is not an object");
            assert_eq!(error.kind, ErrorKind::SignInFailed);
        }
    }

    #[test]
    fn expires_on_in_every_form() {
        assert_eq!(parse_expires_on(&json!("1700000000")), Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        assert_eq!(parse_expires_on(&json!(1_700_000_000u64)), Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        // 2017-09-14 12:00:00 UTC
        assert_eq!(
            parse_expires_on(&json!("09/14/2017 12:00:00 PM +00:00")),
            Some(UNIX_EPOCH + Duration::from_secs(1_505_390_400))
        );
        assert_eq!(
            parse_expires_on(&json!("09/14/2017 12:00:00 AM +00:00")),
            Some(UNIX_EPOCH + Duration::from_secs(1_505_347_200))
        );
        assert_eq!(
            parse_expires_on(&json!("09/14/2017 02:00:00 PM +02:00")),
            Some(UNIX_EPOCH + Duration::from_secs(1_505_390_400))
        );
        assert_eq!(parse_expires_on(&json!("soon")), None);
        assert_eq!(parse_expires_on(&Value::Null), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn arc_answers_the_challenge_with_the_key_file() {
        use crate::graph::auth::TokenSource;
        let (_, sim) = graph_sim::spawn(graph_sim::SimConfig::new(5, 1));
        let dir = std::env::temp_dir().join(format!("pumfa-arc-e2e-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("challenge.key");
        std::fs::write(&key_file, "arc-key-123").unwrap();
        sim.simulator().state().directory.set_identity(graph_sim::entra::IdentityConfig {
            system_assigned: Some(graph_sim::entra::IdentitySpec {
                client_id: None,
                roles: vec!["User.Read.All".into()],
            }),
            arc_key_file: Some(key_file.display().to_string()),
            arc_key: Some("arc-key-123".into()),
            ..Default::default()
        });
        let endpoint = format!("{}/metadata/identity/oauth2/token", sim.url());
        let arc = detect(&[("IDENTITY_ENDPOINT", endpoint.as_str()), ("IMDS_ENDPOINT", sim.url().as_str())], "", None)
            .unwrap()
            .with_arc_key_dir(dir.clone());
        assert_eq!(arc.kind(), Kind::Arc);
        let token = arc.fetch(false).await.unwrap();
        let claims = crate::signin::claims::Claims::decode(token.secret.expose()).unwrap();
        assert_eq!(claims.roles, ["User.Read.All"]);
        std::fs::write(&key_file, "wrong-key").unwrap();
        assert!(arc.fetch(false).await.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn arc_key_files_must_be_in_the_agent_folder() {
        let dir = std::env::temp_dir().join(format!("pumfa-arc-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("abc.key");
        std::fs::write(&key, "secret-key\n").unwrap();
        let arc =
            detect(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:1/t"), ("IMDS_ENDPOINT", "http://127.0.0.1:1")], "", None)
                .unwrap()
                .with_arc_key_dir(dir.clone());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("www-authenticate", format!("Basic realm={}", key.display()).parse().unwrap());
        assert_eq!(arc.arc_key(&headers).unwrap(), "Basic secret-key");
        headers.insert("www-authenticate", "Basic realm=/etc/passwd".parse().unwrap());
        assert!(arc.arc_key(&headers).unwrap_err().message.contains("not a .key file"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
