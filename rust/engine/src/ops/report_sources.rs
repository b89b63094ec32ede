//! The report's bulk sources, each fetched whole into a compact map keyed by user id, each paced
//! by its own Graph budget so they run side by side:
//!
//! | source | request | budget |
//! |---|---|---|
//! | registration | `GET /beta/reports/authenticationMethods/userRegistrationDetails?$top=999` | reports: 5 per 10 s |
//! | sign-in activity | `GET /v1.0/users?$select=id,signInActivity&$top=500` | signInActivity: 10 per 60 s (and 1 read unit) |
//! | MFA sign-ins | `GET /beta/auditLogs/signIns?$filter=createdDateTime ge … and status/errorCode eq 0 and authenticationRequirement eq 'multiFactorAuthentication'&$top=1000` | sign-in logs: 5 per 10 s |
//!
//! Registration details come from beta because `defaultMfaMethod` exists only in beta's
//! `userRegistrationDetails`. Graph does not document `$top` there: a first page refused with 400
//! is asked again without it, from the same source. Sign-in activity is listed without advanced
//! query (no `ConsistencyLevel: eventual`), under which Graph has answered `signInActivity` empty;
//! for licensed members that means listing every member (`userType eq 'Member'` is a default
//! query) and keeping the rows the report needs. The MFA sign-ins are interactive sign-ins only,
//! Graph's default for `auditLogs/signIns` (`authenticationRequirement` is beta only).
//!
//! A source Graph refuses (a missing permission, an Entra ID Free tenant, an error that outlived
//! the retries) comes back as [`SourceFailure`]: the report goes on with those columns empty.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;

use super::listing::NextLinks;
use crate::error::{EngineError, ErrorKind};
use crate::graph::client::{graph_error, request_id, GraphClient, Request};
use crate::graph::throttle::Budget;
use crate::graph::{ApiVersion, Notify};
use crate::options::Scope;
use crate::utc;

/// Graph's code for a premium-only source in a tenant without Entra ID P1/P2.
pub const NON_PREMIUM: &str = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";
pub const AUDIT_LOG_READ: &str = "AuditLog.Read.All";
pub const METHODS_READ: &str = "UserAuthenticationMethod.Read.All";

/// A user id as a map key: the GUID's 128 bits (no allocation per user), or a hash of the text
/// for an id that is not a GUID.
pub type UserKey = u128;

pub fn user_key(id: &str) -> UserKey {
    match uuid::Uuid::parse_str(id.trim()) {
        Ok(uuid) => uuid.as_u128(),
        Err(_) => {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            id.trim().to_ascii_lowercase().hash(&mut hasher);
            (1u128 << 127) | u128::from(hasher.finish())
        }
    }
}

/// Why a source is missing from the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFailure {
    /// 403 for want of a permission (named).
    Permission(&'static str),
    /// 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`.
    NotPremium,
    /// Anything else, in words.
    Other(String),
}

/// Repeated texts (method lists, method names) stored once.
#[derive(Default)]
pub struct Interner(HashMap<String, Arc<str>>);

impl Interner {
    pub fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(found) = self.0.get(text) {
            return found.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(text.to_string(), shared.clone());
        shared
    }
}

/// One `userRegistrationDetails` row, as the report uses it.
#[derive(Debug, Clone)]
pub struct Registration {
    pub is_admin: Option<bool>,
    pub is_mfa_registered: Option<bool>,
    pub is_mfa_capable: Option<bool>,
    pub methods_registered: Arc<str>,
    pub default_mfa_method: Option<Arc<str>>,
    pub preferred_mfa_method: Option<Arc<str>>,
}

/// `signInActivity` of one user (Unix seconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInActivity {
    pub last_sign_in: Option<i64>,
    pub last_successful: Option<i64>,
}

pub type Registrations = HashMap<UserKey, Registration>;
pub type Activities = HashMap<UserKey, SignInActivity>;
pub type MfaSignIns = HashMap<UserKey, i64>;

/// A date Graph sent, or None (absent, null, unparsable, or Graph's `0001-01-01` "never").
pub fn date(value: &Value) -> Option<i64> {
    value.as_str().and_then(utc::parse).filter(|&t| t > 0)
}

/// Where a source's listing starts.
pub(crate) struct FirstPage {
    pub url: String,
    /// Asked instead when Graph refuses `url` with 400 (an undocumented query option).
    pub without_optional_query: Option<String>,
    /// Sent with every page (e.g. `Prefer`).
    pub headers: &'static [(&'static str, &'static str)],
}

/// Pages through the listing from `first`, handing every row to `row`; `Err(Err)` ends the job
/// (401, cancelled), `Err(Ok(failure))` ends only this source.
pub(crate) async fn page_through(
    client: &GraphClient,
    first: FirstPage,
    cost: Vec<(Budget, u32)>,
    describe: &str,
    permission: &'static str,
    notify: &dyn Notify,
    mut row: impl FnMut(&Value),
) -> Result<u32, Result<SourceFailure, EngineError>> {
    let mut next = Some(first.url);
    let mut fallback = first.without_optional_query;
    let headers = first.headers;
    let mut links = NextLinks::default();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let request = Request {
            method: Method::GET,
            url,
            body: None,
            eventual_consistency: false,
            cost: cost.clone(),
            describe: describe.to_string(),
        };
        let response = client.send_with_headers(&request, headers, notify).await.map_err(|e| match e.kind {
            ErrorKind::Unauthorized | ErrorKind::Cancelled => Err(e),
            _ => Ok(SourceFailure::Other(e.message)),
        })?;
        if response.status == 400 && pages == 0 {
            if let Some(url) = fallback.take() {
                let (code, _) = graph_error(&response.body);
                notify.verbose(format!(
                    "Graph refused the request to {describe} ({}); asking again without the optional query options.",
                    code.unwrap_or_else(|| "400".into())
                ));
                next = Some(url);
                continue;
            }
        }
        if !response.is_success() {
            let (code, message) = graph_error(&response.body);
            let code_text = code.clone().unwrap_or_default();
            return Err(match response.status {
                401 => Err(EngineError::from_graph(
                    401,
                    code,
                    message,
                    request_id(&response.meta, &response.body),
                    crate::error::Operation::ListUsers,
                    "",
                )),
                403 if code_text.eq_ignore_ascii_case(NON_PREMIUM) => Ok(SourceFailure::NotPremium),
                403 => Ok(SourceFailure::Permission(permission)),
                status => Ok(SourceFailure::Other(format!(
                    "Graph answered {status} {code_text}{} to the request to {describe}",
                    message.map(|m| format!(": {m}")).unwrap_or_default()
                ))),
            });
        }
        pages += 1;
        if let Some(rows) = response.body["value"].as_array() {
            rows.iter().for_each(&mut row);
        }
        next = response.body["@odata.nextLink"].as_str().map(str::to_string);
        if let Some(link) = &next {
            if !client.is_own_origin(link) {
                return Err(Ok(SourceFailure::Other(
                    "Graph's @odata.nextLink points to another host; the engine will not send the token there.".into(),
                )));
            }
            links
                .follow(link, describe)
                .map_err(|e| Ok(SourceFailure::Other(e.message.trim_end_matches('.').to_string())))?;
        }
    }
    Ok(pages)
}

pub type SourceResult<T> = Result<T, Result<SourceFailure, EngineError>>;

/// One `userRegistrationDetails` row as the report keeps it; None without a string `id`.
pub fn registration_of(row: &Value, interner: &mut Interner) -> Option<(UserKey, Registration)> {
    let id = row["id"].as_str()?;
    let methods: Vec<&str> =
        row["methodsRegistered"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(|s| interner.get(s));
    let default_mfa_method = text(&row["defaultMfaMethod"]);
    let preferred_mfa_method = text(&row["userPreferredMethodForSecondaryAuthentication"]);
    let registration = Registration {
        is_admin: row["isAdmin"].as_bool(),
        is_mfa_registered: row["isMfaRegistered"].as_bool(),
        is_mfa_capable: row["isMfaCapable"].as_bool(),
        methods_registered: interner.get(&methods.join(", ")),
        default_mfa_method,
        preferred_mfa_method,
    };
    Some((user_key(id), registration))
}

/// One user's `signInActivity` (from a listing row or a single user); None without a string `id`.
pub fn activity_of(row: &Value) -> Option<(UserKey, SignInActivity)> {
    let id = row["id"].as_str()?;
    let activity = &row["signInActivity"];
    Some((
        user_key(id),
        SignInActivity {
            last_sign_in: date(&activity["lastSignInDateTime"]),
            last_successful: date(&activity["lastSuccessfulSignInDateTime"]),
        },
    ))
}

/// The filter of successful MFA sign-ins since `since` (Unix seconds).
pub fn mfa_filter(since: i64) -> String {
    format!(
        "createdDateTime ge {} and status/errorCode eq 0 and authenticationRequirement eq 'multiFactorAuthentication'",
        utc::format(since)
    )
}

/// Registration details of every enabled user (Graph has no rows for disabled accounts).
pub async fn registrations(client: &GraphClient, notify: &dyn Notify) -> SourceResult<Registrations> {
    let started = Instant::now();
    let mut map = Registrations::new();
    let mut interner = Interner::default();
    let path = "/reports/authenticationMethods/userRegistrationDetails";
    let first = FirstPage {
        url: client.url(ApiVersion::Beta, &format!("{path}?$top=999")),
        without_optional_query: Some(client.url(ApiVersion::Beta, path)),
        headers: &[],
    };
    let pages = page_through(
        client,
        first,
        vec![(Budget::Reports, 1)],
        "read authentication-method registration details",
        AUDIT_LOG_READ,
        notify,
        |row| {
            if let Some((key, registration)) = registration_of(row, &mut interner) {
                map.insert(key, registration);
            }
        },
    )
    .await?;
    notify.verbose(format!(
        "Registration details: {} users in {pages} pages ({:.1} s; reports budget 5 requests per 10 s).",
        map.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(map)
}

/// The users listing that reads `signInActivity` for `scope`: a default query (never advanced:
/// Graph has answered `signInActivity` empty under `ConsistencyLevel: eventual`), in pages of
/// 500, the most Graph allows with it. Licensed members cannot be told apart without advanced
/// query, so that scope lists every member. It stays one page after another: the parallel
/// `userPrincipalName` ranges of the other listings (`upn_ranges.rs`) are sent as advanced queries.
pub fn activity_url(client: &GraphClient, scope: Scope) -> String {
    let mut query = "$select=id,signInActivity&$top=500".to_string();
    if scope == Scope::LicensedMembers {
        query = format!("$filter={}&{query}", utf8_percent_encode(MEMBERS_FILTER, NON_ALPHANUMERIC));
    }
    client.url(ApiVersion::V1, &format!("/users?{query}"))
}

/// A default-query filter (no `ConsistencyLevel` needed) that holds every licensed member.
const MEMBERS_FILTER: &str = "userType eq 'Member'";

/// `signInActivity` of every user in `scope` ([`activity_url`]).
pub async fn activities(client: &GraphClient, scope: Scope, notify: &dyn Notify) -> SourceResult<Activities> {
    let started = Instant::now();
    let mut map = Activities::new();
    let first = FirstPage { url: activity_url(client, scope), without_optional_query: None, headers: &[] };
    let cost = vec![(Budget::SignInActivity, 1), (Budget::Read, 1)];
    let pages = page_through(client, first, cost, "list users' sign-in activity", AUDIT_LOG_READ, notify, |row| {
        if let Some((key, activity)) = activity_of(row) {
            map.insert(key, activity);
        }
    })
    .await?;
    notify.verbose(format!(
        "Sign-in activity: {} users in {pages} pages ({:.1} s; signInActivity budget 10 requests per 60 s).",
        map.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(map)
}

/// The URL of the window scan: every successful MFA sign-in since `since`, newest first.
pub fn mfa_scan_url(client: &GraphClient, since: i64) -> String {
    let filter = mfa_filter(since);
    client.url(
        ApiVersion::Beta,
        &format!("/auditLogs/signIns?$filter={}&$top=1000", utf8_percent_encode(&filter, NON_ALPHANUMERIC)),
    )
}

/// The latest successful MFA sign-in per user within the last `days` days: one filtered scan of
/// the sign-in logs (pages of 1,000), not one query per user (see BENCHMARKS.md, "Detailed report").
pub async fn mfa_sign_ins(client: &GraphClient, days: u32, notify: &dyn Notify) -> SourceResult<MfaSignIns> {
    let started = Instant::now();
    let mut map = MfaSignIns::new();
    let mut rows = 0u64;
    let since = utc::now() - i64::from(days) * utc::DAY;
    let first = FirstPage { url: mfa_scan_url(client, since), without_optional_query: None, headers: &[] };
    let pages = page_through(
        client,
        first,
        vec![(Budget::SignInLogs, 1)],
        "read the sign-in logs",
        AUDIT_LOG_READ,
        notify,
        |row| {
            rows += 1;
            let (Some(id), Some(at)) = (row["userId"].as_str(), date(&row["createdDateTime"])) else { return };
            let latest = map.entry(user_key(id)).or_insert(at);
            if at > *latest {
                *latest = at;
            }
        },
    )
    .await?;
    notify.verbose(format!(
        "MFA sign-ins of the last {days} days: {rows} sign-ins of {} users in {pages} pages ({:.1} s; sign-in logs budget 5 requests per 10 s).",
        map.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(map)
}

/// Whether a user's methods (a `/authentication/methods` answer) hold one that per-user MFA
/// accepts as a second factor: a phone, an authenticator app or OATH token, a FIDO2 key or
/// passkey, Windows Hello for Business, a platform credential or an external method. A password,
/// an email address (self-service password reset only), a Temporary Access Pass and a QR code
/// with PIN are not.
pub fn has_second_factor(body: &Value) -> bool {
    const SECOND_FACTORS: &[&str] = &[
        "phoneAuthenticationMethod",
        "microsoftAuthenticatorAuthenticationMethod",
        "softwareOathAuthenticationMethod",
        "hardwareOathAuthenticationMethod",
        "fido2AuthenticationMethod",
        "windowsHelloForBusinessAuthenticationMethod",
        "platformCredentialAuthenticationMethod",
        "externalAuthenticationMethod",
    ];
    body["value"].as_array().into_iter().flatten().any(|method| {
        let kind = method["@odata.type"].as_str().unwrap_or("").trim_start_matches("#microsoft.graph.");
        SECOND_FACTORS.contains(&kind)
    })
}

/// One user's methods as one readable line: each method with its detail.
pub fn describe_methods(body: &Value) -> String {
    let mut parts = Vec::new();
    for method in body["value"].as_array().into_iter().flatten() {
        let kind = method["@odata.type"].as_str().unwrap_or("").trim_start_matches("#microsoft.graph.");
        let text = |name: &str| method[name].as_str().filter(|s| !s.is_empty());
        let with = |label: &str, detail: Option<String>| match detail {
            Some(detail) => format!("{label}: {detail}"),
            None => label.to_string(),
        };
        let part = match kind {
            "passwordAuthenticationMethod" => "Password".to_string(),
            "phoneAuthenticationMethod" => {
                let label = format!("Phone ({})", text("phoneType").unwrap_or("unknown"));
                with(&label, text("phoneNumber").map(str::to_string))
            }
            "emailAuthenticationMethod" => with("Email", text("emailAddress").map(str::to_string)),
            "microsoftAuthenticatorAuthenticationMethod" => {
                with("Microsoft Authenticator", text("displayName").map(str::to_string))
            }
            // Passkeys are FIDO2 methods with a `passkeyType` (Graph has no passkey type of its own).
            "fido2AuthenticationMethod" => {
                let detail = match (text("model"), text("displayName")) {
                    (Some(model), Some(name)) if name != model => Some(format!("{model} ({name})")),
                    (Some(model), _) => Some(model.to_string()),
                    (None, name) => name.map(str::to_string),
                };
                let label = match text("passkeyType") {
                    Some("deviceBound") => "Passkey (device-bound)",
                    Some("synced") => "Passkey (synced)",
                    Some(_) => "Passkey",
                    None => "FIDO2 security key",
                };
                with(label, detail)
            }
            "softwareOathAuthenticationMethod" => "Software OATH token".to_string(),
            "hardwareOathAuthenticationMethod" => "Hardware OATH token".to_string(),
            "windowsHelloForBusinessAuthenticationMethod" => {
                with("Windows Hello for Business", text("displayName").map(str::to_string))
            }
            "temporaryAccessPassAuthenticationMethod" => "Temporary Access Pass".to_string(),
            "platformCredentialAuthenticationMethod" => {
                with("Platform credential", text("displayName").map(str::to_string))
            }
            "externalAuthenticationMethod" => {
                with("External authentication method", text("displayName").map(str::to_string))
            }
            "qrCodePinAuthenticationMethod" => "QR code with PIN".to_string(),
            "" => continue,
            other => other.trim_end_matches("AuthenticationMethod").to_string(),
        };
        parts.push(part);
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_guid_bits_and_case_blind() {
        assert_eq!(
            user_key("00000000-0000-4000-8000-000000000001"),
            user_key("00000000-0000-4000-8000-000000000001".to_uppercase().as_str())
        );
        assert_ne!(user_key("a@contoso.com"), user_key("b@contoso.com"));
        assert_eq!(user_key("A@contoso.com"), user_key("a@contoso.com"));
    }

    #[test]
    fn second_factors_are_told_from_password_email_and_pass() {
        let methods = |types: &[&str]| json!({ "value": types.iter().map(|t| json!({ "@odata.type": format!("#microsoft.graph.{t}") })).collect::<Vec<_>>() });
        assert!(!has_second_factor(&methods(&[
            "passwordAuthenticationMethod",
            "emailAuthenticationMethod",
            "temporaryAccessPassAuthenticationMethod"
        ])));
        assert!(has_second_factor(&methods(&["passwordAuthenticationMethod", "phoneAuthenticationMethod"])));
        assert!(has_second_factor(&methods(&["fido2AuthenticationMethod"])));
        assert!(!has_second_factor(&json!({ "value": "not a list" })));
    }

    #[test]
    fn methods_read_as_one_line() {
        let body = json!({"value": [
            {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod"},
            {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "phoneNumber": "+1 206 555 0100", "phoneType": "mobile"},
            {"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "emailAddress": "a@b.example"},
            {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "displayName": "Pixel 8"},
            {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "model": "YubiKey 5 NFC", "displayName": "Security key"},
            {"@odata.type": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod", "displayName": "DESKTOP-1"},
        ]});
        assert_eq!(
            describe_methods(&body),
            "Password; Phone (mobile): +1 206 555 0100; Email: a@b.example; Microsoft Authenticator: Pixel 8; \
             FIDO2 security key: YubiKey 5 NFC (Security key); Windows Hello for Business: DESKTOP-1"
        );
    }

    #[test]
    fn passkeys_and_newer_method_types_have_readable_names() {
        let body = json!({"value": [
            {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "model": "YubiKey 5 NFC", "passkeyType": "deviceBound"},
            {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "model": "Microsoft Authenticator", "displayName": "iPhone", "passkeyType": "synced"},
            {"@odata.type": "#microsoft.graph.externalAuthenticationMethod", "displayName": "Contoso MFA", "configurationId": "x"},
            {"@odata.type": "#microsoft.graph.qrCodePinAuthenticationMethod"},
            {"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod"},
        ]});
        assert_eq!(
            describe_methods(&body),
            "Passkey (device-bound): YubiKey 5 NFC; Passkey (synced): Microsoft Authenticator (iPhone); \
             External authentication method: Contoso MFA; QR code with PIN; Hardware OATH token"
        );
    }
}
