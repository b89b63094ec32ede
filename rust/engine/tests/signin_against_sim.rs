//! Sign-in through the C ABI against the simulator's Entra ID and managed identity endpoints:
//! each method, token refresh during a long job, one refresh and retry after a 401, the
//! messages for refused sign-ins, the pre-flight warning, and the connection's details.
//! Every address is on loopback; IMDS is reached through the AZURE_POD_IDENTITY_AUTHORITY_HOST
//! override only.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use graph_sim::config::SimConfig;
use graph_sim::entra::{App, IdentityConfig, IdentitySpec};
use graph_sim::SimHandle;
use serde_json::{json, Value};

use crate::common;
use common::*;

const APP_ID: &str = "5a0c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4";
const SECRET: &str = "Zx8Q~not.a.real.secret-value_1234";

fn start(config: SimConfig) -> SimHandle {
    start_sim(config)
}

/// Runs a getStates job for `users` (or a listing when empty) and returns every event.
fn get_states(session: &Session, users: &[&str], throttle_limit: usize) -> Vec<Value> {
    let scope = if users.is_empty() { "all" } else { "input" };
    let job = session.start(json!({ "operation": "getStates", "scope": scope, "throttleLimit": throttle_limit }));
    if !users.is_empty() {
        job.push_users(users);
    }
    job.close_input();
    job.drain()
}

fn register(sim: &SimHandle, app: App) {
    sim.simulator().state().directory.put_app(app);
}

fn app(roles: &[&str], lifetime: Option<i64>) -> App {
    App {
        client_id: APP_ID.into(),
        display_name: "PerUserMfa tests".into(),
        secrets: vec![SECRET.into()],
        certificates: Vec::new(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        lifetime_seconds: lifetime,
        consented: true,
    }
}

fn secret_options(sim: &SimHandle, tenant: &str) -> Value {
    json!({
        "graphEndpoint": sim.url(),
        "authorityHost": sim.url(),
        "auth": { "kind": "clientSecret", "tenantId": tenant, "clientId": APP_ID },
        "userAgent": "PerUserMfa-tests",
    })
}

fn user_ids(sim: &SimHandle, count: usize) -> Vec<String> {
    sim.tenant().users.iter().take(count).map(|u| u.id.clone()).collect()
}

#[test]
fn client_secret_signs_in_and_reads_states() {
    let sim = start(SimConfig::new(40, 1));
    register(&sim, app(READ, None));
    let session = Session::open(secret_options(&sim, "contoso.onmicrosoft.com"), SECRET).unwrap();
    let info = session.info();
    assert_eq!(info["method"], "ClientSecret");
    assert_eq!(info["environment"], "Global");
    assert_eq!(info["clientId"], APP_ID);
    assert_eq!(info["tenantId"], sim.tenant().id.as_str(), "the token's tid");
    assert_eq!(info["permissionType"], "Application");
    assert_eq!(info["permissions"], json!(READ));
    assert_eq!(info["tokenFormat"], "jwt");
    assert!(info["tokenExpiresOn"].as_str().unwrap().ends_with('Z'));
    assert!(!info.to_string().contains(SECRET));
    let events = get_states(&session, &["adele.vance@contoso.com"], 4);
    assert_eq!(of_type(&events, "userState").len(), 1);
    assert!(of_type(&events, "warning").is_empty());
    assert_eq!(sim.stats().tokens_issued, 1, "one token for the whole connection");
}

#[test]
fn refused_sign_ins_say_what_to_fix() {
    let sim = start(SimConfig::new(10, 1));
    register(&sim, app(READ, None));
    let error = Session::open(secret_options(&sim, "contoso.onmicrosoft.com"), "wrong-secret").err().unwrap();
    assert_eq!(error["errorId"], "SignInFailed");
    assert_eq!(error["category"], "AuthenticationError");
    assert_eq!(error["graphCode"], "AADSTS7000215");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("AADSTS7000215") && message.contains("Secret ID"), "{message}");
    assert!(!message.contains("wrong-secret"));

    let error = Session::open(secret_options(&sim, "fabrikam.onmicrosoft.com"), SECRET).err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("AADSTS90002"));

    let mut unconsented = app(READ, None);
    unconsented.consented = false;
    register(&sim, unconsented);
    let error = Session::open(secret_options(&sim, "contoso.com"), SECRET).err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("Grant admin consent"));

    // -Environment USGov asks for graph.microsoft.us tokens, which this tenant does not have.
    register(&sim, app(READ, None));
    let mut options = secret_options(&sim, "contoso.com");
    options["environment"] = json!("USGov");
    let error = Session::open(options, SECRET).err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("AADSTS500011"), "{error}");

    let mut off_loopback = secret_options(&sim, "contoso.com");
    off_loopback["authorityHost"] = json!("http://login.contoso.com");
    let error = Session::open(off_loopback, SECRET).err().unwrap();
    assert_eq!(error["errorId"], "InvalidEndpoint");
}

#[test]
fn a_job_longer_than_a_token_refreshes_it_and_loses_nobody() {
    let mut config = SimConfig::new(200, 2);
    // 120 users, 2 requests in flight: about 120 $batch round trips of 80 ms, ~10 s, over three tokens.
    config.runtime.latency_ms = 80;
    let sim = start(config);
    register(&sim, app(READ, Some(3)));
    let session = Session::open(secret_options(&sim, "contoso.com"), SECRET).unwrap();
    let ids = user_ids(&sim, 120);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let started = Instant::now();
    let events = get_states(&session, &refs, 2);
    let elapsed = started.elapsed();
    assert!(elapsed > Duration::from_secs(6), "the job outlives two tokens ({elapsed:?})");
    assert_eq!(of_type(&events, "userState").len(), 120, "{:?}", of_type(&events, "fatal"));
    assert!(of_type(&events, "error").is_empty());
    assert!(sim.stats().tokens_issued >= 3, "tokens issued: {}", sim.stats().tokens_issued);
    let rejected = sim.simulator().state().authority.rejected();
    assert_eq!(rejected, 0, "refreshed before expiry, never after a 401");
}

#[test]
fn a_401_mid_run_refreshes_once_and_retries() {
    let sim = start(SimConfig::new(60, 3));
    register(&sim, app(READ, None));
    let session = Session::open(secret_options(&sim, "contoso.com"), SECRET).unwrap();
    assert_eq!(sim.simulator().state().authority.revoke(None), 1);
    let ids = user_ids(&sim, 30);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let events = get_states(&session, &refs, 8);
    assert_eq!(of_type(&events, "userState").len(), 30, "{:?}", of_type(&events, "fatal"));
    assert_eq!(sim.stats().tokens_issued, 2, "exactly one refresh, however many requests saw the 401");
    assert!(of_type(&events, "verbose").iter().any(|e| e["message"].as_str().unwrap().contains("getting a new token")));

    // A static token cannot be refreshed: the 401 ends the job, as before.
    let token = sim.token(READ);
    let options = json!({ "graphEndpoint": sim.url(), "auth": { "kind": "accessToken" } });
    let session = Session::open(options, &token).unwrap();
    sim.simulator().state().authority.revoke(None);
    let events = get_states(&session, &["adele.vance@contoso.com"], 4);
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1);
    assert_eq!(fatal[0]["errorId"], "Unauthorized");
}

#[test]
fn the_pre_flight_check_names_missing_permissions_once_per_job() {
    let sim = start(SimConfig::new(20, 4));
    register(&sim, app(&["User.Read.All"], None));
    let session = Session::open(secret_options(&sim, "contoso.com"), SECRET).unwrap();
    let events = get_states(&session, &["adele.vance@contoso.com", "alex.wilber@contoso.com"], 4);
    let warnings = of_type(&events, "warning");
    assert_eq!(warnings.len(), 1);
    let text = warnings[0]["message"].as_str().unwrap();
    assert!(text.contains("Policy.Read.All") && text.contains("Grant admin consent"), "{text}");
    // The token can read no state at all: Graph's first 403 ends the job with one error naming the
    // permission, instead of one identical error per user.
    assert!(of_type(&events, "error").is_empty(), "{events:?}");
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1, "{events:?}");
    assert!(fatal[0].to_string().contains("Policy.Read.All"), "{}", fatal[0]);
    // An opaque token is not checked (and the simulator refuses it).
    let session =
        Session::open(json!({ "graphEndpoint": sim.url(), "auth": { "kind": "accessToken" } }), "EwBwA8l6BAAUopaque")
            .unwrap();
    assert_eq!(session.info()["tokenFormat"], "opaque");
    let events = get_states(&session, &["adele.vance@contoso.com"], 4);
    assert!(of_type(&events, "warning").is_empty());
}

#[test]
fn a_certificate_signs_the_client_assertion() {
    let sim = start(SimConfig::new(20, 5));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["pumfa".to_string()]).unwrap().self_signed(&key).unwrap();
    let der = cert.der().to_vec();
    let registered = graph_sim::x509::Certificate::from_der(der.clone()).unwrap();
    let mut with_cert = app(READ, None);
    with_cert.secrets.clear();
    with_cert.certificates.push(registered.clone());
    register(&sim, with_cert);
    let options = json!({
        "graphEndpoint": sim.url(),
        "authorityHost": sim.url(),
        "auth": { "kind": "certificate", "tenantId": sim.tenant().id, "clientId": APP_ID, "thumbprint": registered.thumbprint().to_lowercase() },
    });
    let key_secret = STANDARD.encode(key.serialize_der());
    let session = Session::open(options.clone(), &key_secret).unwrap();
    let info = session.info();
    assert_eq!(info["method"], "Certificate");
    assert_eq!(info["certificateThumbprint"], registered.thumbprint());
    assert_eq!(of_type(&get_states(&session, &["adele.vance@contoso.com"], 2), "userState").len(), 1);

    let pem = key.serialize_pem();
    assert!(Session::open(options.clone(), &pem).is_ok(), "PEM text works too");
    let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let error = Session::open(options, &STANDARD.encode(other.serialize_der())).err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("AADSTS700027"), "{error}");
}

fn identity(sim: &SimHandle, system: Option<&[&str]>, lifetime: Option<i64>) {
    sim.simulator().state().directory.set_identity(IdentityConfig {
        system_assigned: system
            .map(|roles| IdentitySpec { client_id: None, roles: roles.iter().map(|r| r.to_string()).collect() }),
        user_assigned: vec![IdentitySpec {
            client_id: Some("user-mi-1".into()),
            roles: READ.iter().map(|r| r.to_string()).collect(),
        }],
        identity_header: "hdr-value".into(),
        lifetime_seconds: lifetime,
        ..IdentityConfig::default()
    });
}

fn identity_options(
    sim: &SimHandle,
    env: &[(&str, String)],
    secret_variable: Option<&str>,
    client_id: Option<&str>,
) -> Value {
    let env: HashMap<&str, String> = env.iter().cloned().collect();
    json!({
        "graphEndpoint": sim.url(),
        "auth": { "kind": "managedIdentity", "clientId": client_id, "environmentVariables": env, "secretVariable": secret_variable },
    })
}

#[test]
fn managed_identity_from_every_kind_of_host() {
    let sim = start(SimConfig::new(20, 6));
    identity(&sim, Some(READ), None);
    let msi = format!("{}/msi/token", sim.url());
    let app_service = identity_options(&sim, &[("IDENTITY_ENDPOINT", msi.clone())], Some("IDENTITY_HEADER"), None);
    let session = Session::open(app_service.clone(), "hdr-value").unwrap();
    assert_eq!(session.info()["managedIdentitySource"], "AppService");
    assert_eq!(session.info()["method"], "ManagedIdentity");
    assert_eq!(of_type(&get_states(&session, &["adele.vance@contoso.com"], 2), "userState").len(), 1);

    let user =
        identity_options(&sim, &[("IDENTITY_ENDPOINT", msi.clone())], Some("IDENTITY_HEADER"), Some("user-mi-1"));
    assert_eq!(Session::open(user, "hdr-value").unwrap().info()["clientId"], "user-mi-1");

    let legacy = identity_options(&sim, &[("MSI_ENDPOINT", msi.clone())], Some("MSI_SECRET"), None);
    let session = Session::open(legacy, "sim-msi-secret").unwrap();
    assert_eq!(session.info()["managedIdentitySource"], "MsiEndpoint");
    assert!(session.info()["tokenExpiresOn"].is_string(), "the 2017 date form is understood");

    let imds = identity_options(&sim, &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.url())], None, None);
    assert_eq!(Session::open(imds, "").unwrap().info()["managedIdentitySource"], "Imds");

    let wrong_header = Session::open(app_service.clone(), "stale").err().unwrap();
    assert!(wrong_header["message"].as_str().unwrap().contains("IDENTITY_HEADER"), "{wrong_header}");

    identity(&sim, None, None);
    let error = Session::open(app_service, "hdr-value").err().unwrap();
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("no a system-assigned managed identity enabled") || message.contains("has no"),
        "{message}"
    );
    assert!(message.contains("Automation account > Account Settings > Identity"), "{message}");
    let imds = identity_options(&sim, &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.url())], None, Some("nope"));
    let error = Session::open(imds, "").err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("Security > Identity"), "{error}");

    // Nothing listening: the IMDS message says where -Identity works.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = identity_options(
        &sim,
        &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", format!("http://127.0.0.1:{port}"))],
        None,
        None,
    );
    let error = Session::open(nowhere, "").err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("No managed identity is available here"), "{error}");
}

#[test]
fn managed_identity_tokens_refresh_too() {
    let mut config = SimConfig::new(100, 7);
    config.runtime.latency_ms = 40;
    let sim = start(config);
    identity(&sim, Some(READ), Some(3));
    let options = identity_options(
        &sim,
        &[("IDENTITY_ENDPOINT", format!("{}/msi/token", sim.url()))],
        Some("IDENTITY_HEADER"),
        None,
    );
    let session = Session::open(options, "hdr-value").unwrap();
    let ids = user_ids(&sim, 100);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let events = get_states(&session, &refs, 2);
    assert_eq!(of_type(&events, "userState").len(), 100);
    assert!(sim.stats().tokens_issued >= 3, "tokens issued: {}", sim.stats().tokens_issued);
}

#[cfg(unix)]
#[test]
fn azure_cli_runs_az_from_the_path_it_is_given() {
    use std::os::unix::fs::PermissionsExt;
    let sim = start(SimConfig::new(20, 8));
    let token = sim.token(READ);
    let dir = std::env::temp_dir().join(format!("pumfa-az-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let az = dir.join("az");
    let expires = graph_sim::clock::unix_now() + 3600;
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho '{{\"accessToken\":\"{token}\",\"expires_on\":{expires},\"tokenType\":\"Bearer\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let options = json!({ "graphEndpoint": sim.url(), "auth": { "kind": "azureCli", "path": path } });
    let session = Session::open(options.clone(), "").unwrap();
    assert_eq!(session.info()["method"], "AzureCli");
    assert_eq!(of_type(&get_states(&session, &["adele.vance@contoso.com"], 2), "userState").len(), 1);

    std::fs::write(&az, "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n").unwrap();
    let error = Session::open(options, "").err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("Run az login"), "{error}");

    let missing = json!({ "graphEndpoint": sim.url(), "auth": { "kind": "azureCli", "path": dir.join("none").display().to_string() } });
    let error = Session::open(missing, "").err().unwrap();
    assert!(error["message"].as_str().unwrap().contains("was not found on PATH"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), Instant::now().elapsed().as_nanos() ^ (&0 as *const i32 as u128))
}
