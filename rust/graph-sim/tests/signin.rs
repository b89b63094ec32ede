//! The sign-in routes: Entra ID's token endpoint (client secret, certificate assertion, the
//! AADSTS refusals) and the managed identity endpoints, and the tokens they issue working on Graph.

use crate::common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::Sim;
use graph_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

const APP: &str = "3b1c5a2e-7d4f-4e8a-9b6c-1f2e3d4c5b6a";

struct Cert {
    key: RsaKeyPair,
    der: Vec<u8>,
    sha1: Vec<u8>,
}

fn certificate(expired: bool) -> Cert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["perusermfa-test".to_string()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref().to_vec();
    Cert { key: RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap(), der, sha1 }
}

fn assertion(cert: &Cert, audience: &str, client_id: &str) -> String {
    let now = graph_sim::clock::unix_now();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(&cert.sha1)});
    let claims = json!({"aud": audience, "iss": client_id, "sub": client_id, "jti": "j", "nbf": now, "exp": now + 600});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0; cert.key.public_modulus_len()];
    cert.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn post_json(sim: &Sim, path: &str, body: Value) -> (StatusCode, Value) {
    let response = sim.client.post(format!("{}{path}", sim.url)).json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn token(sim: &Sim, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&");
    let response = sim
        .client
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sim.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

fn secret_form(secret: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", APP),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ]
}

#[tokio::test]
async fn client_secret_tokens_carry_the_apps_roles_and_work_on_graph() {
    let sim = Sim::start(SimConfig::new(20, 1));
    let (status, _) = post_json(&sim, "/_sim/apps", json!({"clientId": APP, "secret": "s3cret~value", "roles": ["User.Read.All", "Policy.Read.All"], "lifetimeSeconds": 120})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = token(&sim, "contoso.onmicrosoft.com", &secret_form("s3cret~value")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 120);
    let access = body["access_token"].as_str().unwrap();
    let claims = graph_sim::auth::decode_claims(access).unwrap();
    assert_eq!(claims["appid"], APP);
    assert_eq!(claims["roles"], json!(["User.Read.All", "Policy.Read.All"]));
    assert_eq!(
        sim.get("/beta/users/adele.vance@contoso.com/authentication/requirements", access).await.status,
        StatusCode::OK
    );
    let stats = sim.handle.stats();
    assert_eq!((stats.token_requests, stats.tokens_issued), (1, 1));
}

#[tokio::test]
async fn token_endpoint_refusals_are_entra_shaped() {
    let sim = Sim::start(SimConfig::new(20, 1));
    post_json(&sim, "/_sim/apps", json!({"clientId": APP, "secret": "right", "roles": []})).await;
    let (status, body) = token(&sim, "contoso.onmicrosoft.com", &secret_form("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
    assert!(description.contains("Trace ID: ") && description.contains("Correlation ID: "));
    assert!(!description.contains("wrong") && !description.contains("right"));

    let (status, body) = token(&sim, "fabrikam.onmicrosoft.com", &secret_form("right")).await;
    assert_eq!((status, body["error_codes"][0].as_u64()), (StatusCode::BAD_REQUEST, Some(90002)));
    let mut unknown = secret_form("right");
    unknown[1].1 = "00000000-0000-0000-0000-000000000000";
    assert_eq!(token(&sim, "contoso.com", &unknown).await.1["error_codes"][0], 700016);
    let mut other_cloud = secret_form("right");
    other_cloud[3].1 = "https://graph.microsoft.us/.default";
    assert_eq!(token(&sim, "contoso.com", &other_cloud).await.1["error_codes"][0], 500011);
    post_json(&sim, "/_sim/apps", json!({"clientId": APP, "secret": "right", "consented": false})).await;
    assert_eq!(token(&sim, "contoso.com", &secret_form("right")).await.1["error_codes"][0], 65001);
}

#[tokio::test]
async fn certificate_assertions_are_verified() {
    let sim = Sim::start(SimConfig::new(20, 1));
    let good = certificate(false);
    let expired = certificate(true);
    let stranger = certificate(false);
    let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", STANDARD.encode(&good.der));
    let (status, registered) = post_json(
        &sim,
        "/_sim/apps",
        json!({"clientId": APP, "certificates": [pem, STANDARD.encode(&expired.der)], "roles": ["User.Read.All"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let thumbprint: String = good.sha1.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(registered["certificates"][0]["thumbprint"], thumbprint);
    let tenant = sim.handle.tenant().id.clone();
    let audience = format!("{}/{tenant}/oauth2/v2.0/token", sim.url);
    let form = |jwt: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", APP.to_string()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string()),
            ("client_assertion", jwt.to_string()),
            ("scope", "https://graph.microsoft.com/.default".to_string()),
        ]
    };
    let send = |jwt: String| {
        let sim = &sim;
        let tenant = tenant.clone();
        let pairs = form(&jwt);
        async move {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token(sim, &tenant, &borrowed).await
        }
    };
    let (status, body) = send(assertion(&good, &audience, APP)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(graph_sim::auth::decode_claims(body["access_token"].as_str().unwrap()).unwrap()["appid"], APP);

    let (status, body) = send(assertion(&expired, &audience, APP)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"][0], 700027);
    assert!(body["error_description"].as_str().unwrap().contains("The key used is expired"));

    let (_, body) = send(assertion(&stranger, &audience, APP)).await;
    assert!(body["error_description"].as_str().unwrap().contains("The key was not found"));

    // Signed by another key but naming the registered certificate.
    let forged = Cert { key: stranger.key, der: good.der.clone(), sha1: good.sha1.clone() };
    let (_, body) = send(assertion(&forged, &audience, APP)).await;
    assert!(body["error_description"].as_str().unwrap().contains("did not match the expected signature"));

    let (_, body) = send(assertion(&good, &audience, "someone-else")).await;
    assert_eq!(body["error_codes"][0], 700021);
}

#[tokio::test]
async fn managed_identity_endpoints_check_their_headers_and_identities() {
    let sim = Sim::start(SimConfig::new(20, 1));
    let url = |path: &str| format!("{}{path}", sim.url);
    let graph = "resource=https%3A%2F%2Fgraph.microsoft.com";
    // No identity enabled yet.
    let response = sim
        .client
        .get(url(&format!("/msi/token?api-version=2019-08-01&{graph}")))
        .header("X-IDENTITY-HEADER", "sim-identity-header")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("No Managed Identity found"));

    post_json(&sim, "/_sim/identity", json!({"systemAssigned": {"roles": ["User.Read.All"]}, "userAssigned": [{"clientId": "u-1", "roles": ["Policy.Read.All"]}], "identityHeader": "hdr", "lifetimeSeconds": 30})).await;
    let wrong = sim
        .client
        .get(url(&format!("/msi/token?api-version=2019-08-01&{graph}")))
        .header("X-IDENTITY-HEADER", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok: Value = sim
        .client
        .get(url(&format!("/msi/token?api-version=2019-08-01&{graph}")))
        .header("X-IDENTITY-HEADER", "hdr")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expires_on: i64 = ok["expires_on"].as_str().unwrap().parse().unwrap();
    assert!((expires_on - graph_sim::clock::unix_now() - 30).abs() <= 2);
    assert_eq!(
        graph_sim::auth::decode_claims(ok["access_token"].as_str().unwrap()).unwrap()["roles"],
        json!(["User.Read.All"])
    );
    let user: Value = sim
        .client
        .get(url(&format!("/msi/token?api-version=2019-08-01&{graph}&client_id=u-1")))
        .header("X-IDENTITY-HEADER", "hdr")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(graph_sim::auth::decode_claims(user["access_token"].as_str().unwrap()).unwrap()["appid"], "u-1");

    let legacy: Value = sim
        .client
        .get(url(&format!("/msi/token?api-version=2017-09-01&{graph}")))
        .header("Secret", "sim-msi-secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(legacy["expires_on"].as_str().unwrap().ends_with("+00:00"));

    let no_header = sim
        .client
        .get(url(&format!("/metadata/identity/oauth2/token?api-version=2018-02-01&{graph}")))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::BAD_REQUEST);
    let imds: Value = sim
        .client
        .get(url(&format!("/metadata/identity/oauth2/token?api-version=2018-02-01&{graph}")))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(imds["expires_in"], "30");
    let missing: Value = sim
        .client
        .get(url(&format!("/metadata/identity/oauth2/token?api-version=2018-02-01&{graph}&client_id=nope")))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["error_description"], "Identity not found");
}

#[tokio::test]
async fn revoked_tokens_get_401_and_are_listed() {
    let sim = Sim::start(SimConfig::new(20, 1));
    let before = sim.token(common::READ);
    let response = sim.client.post(format!("{}/_sim/tokens/revoke", sim.url)).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["revoked"], 1);
    let answer = sim.get("/v1.0/users/adele.vance@contoso.com", &before).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.message().contains("revoked"));
    let after = sim.token(common::READ);
    assert_eq!(sim.get("/v1.0/users/adele.vance@contoso.com", &after).await.status, StatusCode::OK);
    let listed: Value = sim.client.get(format!("{}/_sim/tokens", sim.url)).send().await.unwrap().json().await.unwrap();
    let issued = listed["issued"].as_array().unwrap();
    assert_eq!(issued.len(), 2);
    assert_eq!(issued[0]["accessToken"], before.as_str());
    assert_eq!(issued[0]["via"], "sim");
    assert_eq!(listed["rejected401"], 1);
}
