//! End-to-end tests of the simulator over HTTP, in-process.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Sim, READ, WRITE};
use graph_sim::{SimConfig, ThrottleMode, TokenRequest};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const LICENSED_MEMBERS: &str = "assignedLicenses/$count ne 0 and userType eq 'Member'";

fn encoded_filter() -> String {
    percent_encoding::utf8_percent_encode(LICENSED_MEMBERS, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn licensed_member_filter_needs_advanced_query_and_pages_each_user_once() {
    let sim = Sim::start(SimConfig::new(1_500, 3));
    let token = sim.token(READ);
    let filter = encoded_filter();

    let no_header = sim.get(&format!("/v1.0/users?$filter={filter}&$count=true"), &token).await;
    assert_eq!(no_header.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_header.code(), "Request_UnsupportedQuery");
    let no_count =
        sim.get_with(&format!("/v1.0/users?$filter={filter}"), &token, &[("ConsistencyLevel", "eventual")]).await;
    assert_eq!(no_count.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_count.code(), "Request_UnsupportedQuery");
    // Keywords are case-insensitive and whitespace-tolerant.
    let sloppy = "  AssignedLicenses/$count  NE 0 AND  userType EQ 'member'";
    let sloppy = percent_encoding::utf8_percent_encode(sloppy, percent_encoding::NON_ALPHANUMERIC).to_string();
    let answer = sim
        .get_with(
            &format!("/v1.0/users?$filter={sloppy}&$count=true&$top=5"),
            &token,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let expected: HashSet<String> = sim
        .truth()
        .await
        .iter()
        .filter(|u| u["userType"] == "Member" && !u["assignedLicenses"].as_array().unwrap().is_empty())
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(expected.len() > 1_000, "a 1,500-user tenant has over 1,000 licensed members");

    let mut next =
        Some(format!("/v1.0/users?$filter={filter}&$count=true&$top=250&$select=id,userPrincipalName,displayName"));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(link) = next {
        let page = sim.get_with(&link, &token, &[("ConsistencyLevel", "eventual")]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["@odata.count"].as_u64().unwrap() as usize, expected.len());
        assert_eq!(
            page.body["@odata.context"],
            "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,displayName)"
        );
        let users = page.body["value"].as_array().unwrap();
        assert!(users.len() <= 250);
        for user in users {
            assert!(user.get("perUserMfaState").is_none());
            assert!(user.get("mail").is_none(), "only selected properties");
            seen.push(user["id"].as_str().unwrap().to_owned());
        }
        next = page.body["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(link.starts_with(&format!("{}/v1.0/users?", sim.url)), "{link}");
            assert!(link.contains("$skiptoken="));
        }
        pages += 1;
    }
    assert_eq!(pages, expected.len().div_ceil(250));
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    assert_eq!(unique, expected);

    // Other supported filters and $top bounds.
    let guests = sim
        .get("/v1.0/users?$filter=userType%20eq%20'Guest'%20and%20accountEnabled%20eq%20true&$top=999", &token)
        .await;
    assert_eq!(guests.status, StatusCode::OK);
    assert!(guests.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["userPrincipalName"].as_str().unwrap().contains("#EXT#")));
    let unsupported = sim.get("/v1.0/users?$filter=startswith(displayName,'A')", &token).await;
    assert_eq!((unsupported.status, unsupported.code()), (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"));
    let too_big = sim.get("/v1.0/users?$top=1000", &token).await;
    assert_eq!((too_big.status, too_big.code()), (StatusCode::BAD_REQUEST, "Request_BadRequest"));
    let default_page = sim.get("/v1.0/users", &token).await;
    assert_eq!(default_page.body["value"].as_array().unwrap().len(), 100);
    let bad_token = sim.get("/v1.0/users?$skiptoken=nonsense", &token).await;
    assert_eq!(bad_token.status, StatusCode::BAD_REQUEST);

    // Listing needs a user-read permission.
    let policy_only = sim.token(&["Policy.ReadWrite.AuthenticationMethod"]);
    let denied = sim.get("/v1.0/users", &policy_only).await;
    assert_eq!((denied.status, denied.code()), (StatusCode::FORBIDDEN, "Authorization_RequestDenied"));
    assert_eq!(denied.message(), "Insufficient privileges to complete the operation.");
    let delegated = sim.handle.issue_token(&TokenRequest::scopes("Directory.Read.All")).unwrap().access_token;
    assert_eq!(sim.get("/v1.0/users?$top=1", &delegated).await.status, StatusCode::OK);
}

#[tokio::test]
async fn select_returns_state_only_when_selected_permitted_and_bulk_enabled() {
    let sim = Sim::start(SimConfig::new(60, 1));
    let with_policy = sim.token(READ);
    let without_policy = sim.token(&["User.Read.All"]);
    let path = "/v1.0/users?$select=id,userPrincipalName,perUserMfaState&$top=8";

    let page = sim.get(path, &with_policy).await;
    let users = page.body["value"].as_array().unwrap();
    let states: Vec<&str> = users.iter().map(|u| u["perUserMfaState"].as_str().unwrap()).collect();
    assert_eq!(states, ["enabled", "enforced", "disabled", "disabled", "enabled", "disabled", "enforced", "enabled"]);

    let page = sim.get(path, &without_policy).await;
    assert!(page.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.get("perUserMfaState").is_none() && u.get("id").is_some()));

    let default = sim.get("/v1.0/users?$top=3", &with_policy).await;
    let first = &default.body["value"][0];
    for property in
        ["id", "displayName", "userPrincipalName", "mail", "givenName", "surname", "jobTitle", "businessPhones"]
    {
        assert!(first.get(property).is_some(), "default set has {property}");
    }
    assert!(first.get("perUserMfaState").is_none());
    assert_eq!(default.body["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#users");

    let unknown = sim.get("/v1.0/users?$select=id,shoeSize", &with_policy).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::BAD_REQUEST, "Request_BadRequest"));

    let (status, config) = sim.sim_post("/_sim/config", json!({"bulkState": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["bulkState"], "ignored");
    let page = sim.get(path, &with_policy).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body["value"].as_array().unwrap().iter().all(|u| u.get("perUserMfaState").is_none()));

    // --no-bulk-state at start, and on a single user too.
    let no_bulk = Sim::start(SimConfig::new(20, 1).with_bulk_state(false));
    let token = no_bulk.token(READ);
    let one = no_bulk.get("/v1.0/users/adele.vance@contoso.com?$select=id,perUserMfaState", &token).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.get("perUserMfaState").is_none());
    assert_eq!(
        one.body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users(id,perUserMfaState)/$entity"
    );
}

#[tokio::test]
async fn requirements_get_and_patch() {
    let sim = Sim::start(SimConfig::new(30, 9));
    let read = sim.token(READ);
    let write = sim.token(WRITE);
    let users_only = sim.token(&["User.Read.All"]);

    let adele = sim.get("/beta/users/00000000-0000-4000-8000-000000000001/authentication/requirements", &read).await;
    assert_eq!(adele.status, StatusCode::OK);
    assert_eq!(
        adele.body,
        json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#users('00000000-0000-4000-8000-000000000001')/authentication/requirements/$entity",
            "perUserMfaState": "enabled"
        })
    );
    // Guest UPN with #EXT# percent-encoded; apostrophe raw and encoded; non-ASCII; case-insensitive.
    for (segment, state) in [
        ("megan.bowen_fabrikam.com%23EXT%23@contoso.onmicrosoft.com", "disabled"),
        ("miriam.o'brien@contoso.com", "disabled"),
        ("miriam.o%27brien@contoso.com", "disabled"),
        ("zo%C3%AB.%C3%A5str%C3%B6m@contoso.com", "enabled"),
        ("ALEX.WILBER@CONTOSO.COM", "enforced"),
    ] {
        let answer = sim.get(&format!("/beta/users/{segment}/authentication/requirements"), &read).await;
        assert_eq!(answer.status, StatusCode::OK, "{segment}: {}", answer.body);
        assert_eq!(answer.body["perUserMfaState"], state, "{segment}");
    }
    let guest = sim.get("/v1.0/users/megan.bowen_fabrikam.com%23EXT%23@contoso.onmicrosoft.com", &read).await;
    assert_eq!(guest.body["displayName"], "Megan Bowen (Fabrikam)");

    // enabled on a user with MFA methods is stored as enforced.
    let diego = "diego.siciliani@contoso.com";
    assert_eq!(sim.patch_state(diego, &write, "enabled").await.status, StatusCode::NO_CONTENT);
    let after = sim.get(&format!("/beta/users/{diego}/authentication/requirements"), &read).await;
    assert_eq!(after.body["perUserMfaState"], "enforced");
    let miriam = "miriam.o%27brien@contoso.com";
    let patched = sim.patch_state(miriam, &write, "enabled").await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT);
    assert!(patched.body.is_null());
    assert_eq!(
        sim.get(&format!("/beta/users/{miriam}/authentication/requirements"), &read).await.body["perUserMfaState"],
        "enabled"
    );
    assert_eq!(sim.patch_state(miriam, &write, "disabled").await.status, StatusCode::NO_CONTENT);

    let bad = sim.patch_state(miriam, &write, "sometimes").await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "BadRequest"));
    assert!(bad.message().contains("sometimes"), "{}", bad.message());
    let missing = sim
        .call(
            Method::PATCH,
            &format!("/beta/users/{miriam}/authentication/requirements"),
            Some(&write),
            &[],
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    let read_only_patch = sim.patch_state(miriam, &read, "enforced").await;
    assert_eq!((read_only_patch.status, read_only_patch.code()), (StatusCode::FORBIDDEN, "accessDenied"));
    assert_eq!(read_only_patch.message(), "Request Authorization failed");
    let no_policy_get = sim.get(&format!("/beta/users/{miriam}/authentication/requirements"), &users_only).await;
    assert_eq!((no_policy_get.status, no_policy_get.code()), (StatusCode::FORBIDDEN, "accessDenied"));

    let unknown = sim.get("/beta/users/nobody@contoso.com/authentication/requirements", &read).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "Request_ResourceNotFound"));
    assert_eq!(
        unknown.message(),
        "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present."
    );
    let unknown_user = sim.get("/v1.0/users/nobody@contoso.com", &read).await;
    assert_eq!(unknown_user.status, StatusCode::NOT_FOUND);

    let v1 = sim.get(&format!("/v1.0/users/{diego}/authentication/requirements"), &read).await;
    assert_eq!((v1.status, v1.code()), (StatusCode::BAD_REQUEST, "BadRequest"));
    assert_eq!(v1.message(), "Resource not found for the segment 'requirements'.");

    let truth = sim.truth().await;
    let by_upn = |upn: &str| truth.iter().find(|u| u["userPrincipalName"] == upn).unwrap().clone();
    assert_eq!(by_upn("diego.siciliani@contoso.com")["patchCount"], 1);
    assert_eq!(by_upn("diego.siciliani@contoso.com")["perUserMfaState"], "enforced");
    assert_eq!(by_upn("miriam.o'brien@contoso.com")["patchCount"], 2);
    assert_eq!(by_upn("adele.vance@contoso.com")["patchCount"], 0);
    let stats = sim.stats().await;
    assert_eq!(stats["patches"], 3);

    // Reset restores states and counters.
    let (status, _) = sim.sim_post("/_sim/reset", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let truth = sim.truth().await;
    let diego = truth.iter().find(|u| u["userPrincipalName"] == "diego.siciliani@contoso.com").unwrap();
    assert_eq!((diego["perUserMfaState"].as_str(), diego["patchCount"].as_u64()), (Some("disabled"), Some(0)));
    assert_eq!(sim.stats().await["requests"], 0);
}

#[tokio::test]
async fn unauthorized_variants_and_request_ids() {
    let sim = Sim::start(SimConfig::new(10, 1));
    let other = Sim::start(SimConfig::new(10, 1));
    let path = "/v1.0/users/00000000-0000-4000-8000-000000000001";

    let missing = sim.call(Method::GET, path, None, &[("client-request-id", "abc-123")], None).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"));
    assert_eq!(missing.message(), "Access token is empty.");
    assert_eq!(missing.header("client-request-id"), Some("abc-123"));
    assert_eq!(missing.body["error"]["innerError"]["client-request-id"], "abc-123");
    let request_id = missing.header("request-id").unwrap().to_owned();
    assert_eq!(missing.body["error"]["innerError"]["request-id"], request_id.as_str());
    assert!(uuid::Uuid::parse_str(&request_id).is_ok());
    assert!(missing.body["error"]["innerError"]["date"].is_string());

    for token in ["garbage".to_owned(), other.token(READ)] {
        let answer = sim.get(path, &token).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"));
        assert_eq!(answer.message(), "Access token validation failure. Invalid audience.");
    }
    let expired = sim.handle.issue_token(&TokenRequest::roles(READ).lifetime(0)).unwrap().access_token;
    let answer = sim.get(path, &expired).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.message(), "Lifetime validation failed, the token is expired.");

    // A good token works, and the response carries fresh ids.
    let ok = sim.get(path, &sim.token(READ)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.header("request-id").is_some() && ok.header("client-request-id").is_some());

    // Tokens minted over HTTP are JWT-shaped with real claims.
    let (status, minted) =
        sim.sim_post("/_sim/token", json!({"scp": "User.Read.All Policy.Read.All", "appId": "my-app"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(minted["token_type"], "Bearer");
    let claims = graph_sim::auth::decode_claims(minted["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["scp"], "User.Read.All Policy.Read.All");
    assert_eq!(claims["appid"], "my-app");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn batch_limits_ids_and_shuffled_answers() {
    let sim = Sim::start(SimConfig::new(40, 1));
    let token = sim.token(WRITE);

    let too_many: Vec<Value> =
        (1..=21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=1"})).collect();
    let answer = sim.batch("beta", &token, json!(too_many)).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::BAD_REQUEST, "BadRequest"));
    let duplicate =
        json!([{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]);
    assert_eq!(sim.batch("beta", &token, duplicate).await.status, StatusCode::BAD_REQUEST);

    let tenant = sim.handle.tenant();
    let mut requests: Vec<Value> = tenant
        .users
        .iter()
        .take(18)
        .enumerate()
        .map(|(i, u)| json!({"id": (i + 1).to_string(), "method": "GET", "url": format!("/users/{}/authentication/requirements", u.id)}))
        .collect();
    requests.push(json!({
        "id": "patch", "method": "PATCH", "url": "users/diego.siciliani@contoso.com/authentication/requirements",
        "headers": {"Content-Type": "application/json"}, "body": {"perUserMfaState": "enabled"}
    }));
    requests
        .push(json!({"id": "missing", "method": "GET", "url": "/users/ghost@contoso.com/authentication/requirements"}));

    let mut orders = HashSet::new();
    for _ in 0..3 {
        let answer = sim.batch("beta", &token, json!(requests)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let responses = answer.body["responses"].as_array().unwrap();
        assert_eq!(responses.len(), 20);
        let order: Vec<String> = responses.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        orders.insert(order);
        for response in responses {
            let id = response["id"].as_str().unwrap();
            match id {
                "patch" => {
                    assert_eq!(response["status"], 204);
                    assert!(response.get("body").is_none());
                }
                "missing" => {
                    assert_eq!(response["status"], 404);
                    assert_eq!(response["body"]["error"]["code"], "Request_ResourceNotFound");
                }
                _ => {
                    let index: usize = id.parse().unwrap();
                    let user = &tenant.users[index - 1];
                    assert_eq!(response["status"], 200);
                    assert_eq!(response["headers"]["Content-Type"], "application/json");
                    if index != 3 {
                        // (user 3 is PATCHed concurrently in the same batch)
                        assert_eq!(response["body"]["perUserMfaState"], user.state().as_str());
                    }
                    assert!(response["body"]["@odata.context"].as_str().unwrap().contains(&user.id));
                }
            }
        }
    }
    assert!(
        orders.len() > 1
            || !orders.contains(&requests.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>())
    );

    // Sub-requests run the same permission checks; the v1.0 batch has no requirements segment.
    let reader = sim.token(&["User.Read.All"]);
    let answer = sim
        .batch(
            "v1.0",
            &reader,
            json!([
                {"id": "a", "method": "GET", "url": "/users/adele.vance@contoso.com?$select=id"},
                {"id": "b", "method": "GET", "url": "/users/adele.vance@contoso.com/authentication/requirements"}
            ]),
        )
        .await;
    let responses = answer.body["responses"].as_array().unwrap();
    let by_id = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by_id("a")["status"], 200);
    assert_eq!(by_id("b")["status"], 400);
    let answer = sim
        .batch(
            "beta",
            &reader,
            json!([{"id": "1", "method": "GET", "url": "/users/adele.vance@contoso.com/authentication/requirements"}]),
        )
        .await;
    assert_eq!(answer.body["responses"][0]["status"], 403);
    assert_eq!(answer.body["responses"][0]["body"]["error"]["code"], "accessDenied");

    // The envelope needs a token like any request.
    let unauthenticated = sim.call(Method::POST, "/beta/$batch", None, &[], Some(json!({"requests": []}))).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    let stats = sim.stats().await;
    assert_eq!(stats["batchEnvelopes"], 7);
    assert_eq!(stats["subRequests"], 63);
    assert_eq!(stats["patches"], 3);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_counts_impatience() {
    let sim = Sim::start(SimConfig::new(30, 1).with_throttle(ThrottleMode::Auto).with_read_budget(10));
    let token = sim.token(READ);
    let path = "/beta/users/adele.vance@contoso.com/authentication/requirements";
    let mut saw_percentage = false;
    for i in 0..10 {
        let answer = sim.get(path, &token).await;
        assert_eq!(answer.status, StatusCode::OK, "request {i}");
        assert_eq!(answer.header("x-ms-resource-unit"), Some("1"));
        if let Some(pct) = answer.header("x-ms-throttle-limit-percentage") {
            assert!(pct.parse::<f64>().unwrap() > 0.8);
            saw_percentage = true;
        }
    }
    assert!(saw_percentage, "usage past 80% is announced");
    let throttled = sim.get(path, &token).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.code(), "TooManyRequests");
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after));
    assert!(throttled.header("x-ms-throttle-scope").unwrap().starts_with("Tenant_Application/"));
    assert_eq!(sim.stats().await["sentDuringRetryAfter"], 0);

    // Ignoring Retry-After is counted, top-level and inside a batch (after a short grace period
    // for requests that were already on their way).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = sim.get(path, &token).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    let batch = sim
        .batch(
            "beta",
            &token,
            json!([{"id": "1", "method": "GET", "url": "/users/lee.gu@contoso.com/authentication/requirements"}]),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK);
    let sub = &batch.body["responses"][0];
    assert_eq!(sub["status"], 429);
    assert!(sub["headers"]["Retry-After"].as_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(sub["body"]["error"]["code"], "TooManyRequests");
    let stats = sim.stats().await;
    assert_eq!(stats["throttled429"], 3);
    assert_eq!(stats["sentDuringRetryAfter"], 2);

    // Another app has its own budget.
    let other_app = sim
        .handle
        .issue_token(&TokenRequest::roles(READ).app("11111111-1111-4111-8111-111111111111"))
        .unwrap()
        .access_token;
    assert_eq!(sim.get(path, &other_app).await.status, StatusCode::OK);

    // Writes have their own, smaller budget (and still cost a resource unit).
    let writes = Sim::start(SimConfig::new(30, 1).with_throttle(ThrottleMode::Auto).with_write_budget(2));
    let write = writes.token(WRITE);
    assert_eq!(writes.patch_state("lee.gu@contoso.com", &write, "enforced").await.status, StatusCode::NO_CONTENT);
    assert_eq!(writes.patch_state("lee.gu@contoso.com", &write, "enforced").await.status, StatusCode::NO_CONTENT);
    let refused = writes.patch_state("lee.gu@contoso.com", &write, "enforced").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.header("retry-after").unwrap().parse::<u64>().unwrap() > 100);
    assert_eq!(writes.get(path, &write).await.status, StatusCode::OK, "reads are not blocked by the write budget");
}

#[tokio::test]
async fn faults_drops_and_latency() {
    let sim = Sim::start(SimConfig::new(20, 1).with_faults(1.0, 0.0, 0.0));
    let token = sim.token(READ);
    let answer = sim.get("/v1.0/users?$top=1", &token).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::SERVICE_UNAVAILABLE, "serviceNotAvailable"));
    assert!(answer.header("request-id").is_some());
    // /_sim routes never fault.
    assert_eq!(sim.stats().await["faults503"], 1);

    sim.sim_post("/_sim/config", json!({"fault503": 0, "fault504": 1})).await;
    let answer = sim.get("/v1.0/users?$top=1", &token).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::GATEWAY_TIMEOUT, "gatewayTimeout"));

    // Faults apply per sub-request too: at 50% some envelope gets through with faulted sub-requests.
    sim.sim_post("/_sim/config", json!({"fault503": 0.5, "fault504": 0})).await;
    let requests: Vec<Value> = (1..=20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/adele.vance@contoso.com/authentication/requirements"}))
        .collect();
    let mut sub_faults = 0;
    for _ in 0..40 {
        let answer = sim.batch("beta", &token, json!(requests)).await;
        if answer.status == StatusCode::OK {
            sub_faults += answer.body["responses"].as_array().unwrap().iter().filter(|r| r["status"] == 503).count();
            if sub_faults > 0 {
                break;
            }
        }
    }
    assert!(sub_faults > 0);

    sim.sim_post("/_sim/config", json!({"fault503": 0, "dropRate": 1})).await;
    let dropped = sim.client.get(format!("{}/v1.0/users?$top=1", sim.url)).bearer_auth(&token).send().await;
    let failed = match dropped {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "the connection is dropped without a complete answer");
    assert_eq!(sim.stats().await["dropped"], 1);

    let (_, config) = sim.sim_post("/_sim/config", json!({"dropRate": 0, "latencyMs": 60})).await;
    assert_eq!(config["latencyMs"], 60);
    let started = Instant::now();
    assert_eq!(sim.get("/v1.0/users?$top=1", &token).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(55));

    // maxInFlight sees concurrent requests.
    sim.sim_post("/_sim/stats/reset", json!({})).await;
    let calls: Vec<_> = (0..5).map(|_| sim.get("/v1.0/users?$top=1", &token)).collect();
    for answer in futures::future::join_all(calls).await {
        assert_eq!(answer.status, StatusCode::OK);
    }
    let stats = sim.stats().await;
    assert_eq!(stats["requests"], 5);
    assert!(stats["maxInFlight"].as_u64().unwrap() >= 2, "{stats}");

    let (status, _) = sim.sim_post("/_sim/config", json!({"fault503": 3})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = sim.sim_post("/_sim/config", json!({"nonsense": true})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let config = sim.sim_get("/_sim/config").await;
    assert_eq!(config["users"], 20);
    assert_eq!(config["throttle"], "off");
    assert_eq!(config["effectiveReadBudget"], 3500);
}

#[test]
fn cli_prints_one_listening_line_and_shuts_down() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_graph-sim"))
        .args(["--port", "0", "--users", "25", "--seed", "4", "--throttle", "auto", "--no-bulk-state"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready["event"], "listening");
    assert_eq!(ready["users"], 25);
    assert_eq!(ready["seed"], 4);
    let url = ready["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let config: Value = client.get(format!("{url}/_sim/config")).send().await.unwrap().json().await.unwrap();
        assert_eq!(config["bulkState"], "ignored");
        assert_eq!(config["throttle"], "auto");
        let users: Value = client.get(format!("{url}/_sim/users")).send().await.unwrap().json().await.unwrap();
        assert_eq!(users.as_array().unwrap().len(), 25);
        assert_eq!(users[7]["displayName"], "<script>alert(1)</script>");
        let status = client.post(format!("{url}/_sim/shutdown")).send().await.unwrap().status();
        assert_eq!(status, 200);
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(Instant::now() < deadline, "graph-sim did not exit after /_sim/shutdown");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.is_empty(), "nothing else on stdout: {rest}");
}

#[test]
fn generates_100k_users_quickly() {
    let started = Instant::now();
    let tenant = graph_sim::Tenant::generate(100_000, 1, 0);
    let elapsed = started.elapsed();
    assert_eq!(tenant.users.len(), 100_000);
    // About half a second in a release build on an idle machine; debug builds are several times
    // slower. The release limit leaves room for CI, which runs the other test binaries' threads on
    // the same two cores (1.05 s seen there); a quadratic step would still take minutes.
    let limit = if cfg!(debug_assertions) { Duration::from_secs(8) } else { Duration::from_secs(3) };
    assert!(elapsed < limit, "took {elapsed:?}");
    eprintln!("generated 100,000 users in {elapsed:?}");
}
