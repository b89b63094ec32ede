//! `-Evaluate`: Graph's own What-If (`POST /beta/identity/conditionalAccess/evaluate`, the 2025
//! request shape) for the users the static rules could not settle (`PartiallyCovered`,
//! `Unknown`), over a few standard sign-ins plus the apps of their per-user-only sign-ins. Each
//! answer becomes one sentence beside the verdict; it never changes the verdict: What-If has known
//! mis-evaluations and never models per-user MFA or security defaults.
//!
//! Every call spends the Conditional Access budget (one request per second for the whole tenant,
//! the throttle gate's family), so 40 users take 40 x 8 calls, about five minutes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::policy::Policy;
use crate::error::{EngineError, ErrorKind};
use crate::events::Event;
use crate::graph::client::{graph_error, GraphClient, Request};
use crate::graph::throttle::Budget;
use crate::graph::{ApiVersion, Notify};

/// The applications every evaluated user is tried against (Graph needs an app's own id: app
/// groups such as Office365 match nothing in What-If).
pub const STANDARD_APPS: [(&str, &str); 2] = [
    ("00000002-0000-0ff1-ce00-000000000000", "Exchange Online"),
    ("00000003-0000-0ff1-ce00-000000000000", "SharePoint Online"),
];
const CLIENTS: [(&str, &str); 2] = [("browser", "browser"), ("mobileAppsAndDesktopClients", "mobile and desktop apps")];
const PLATFORMS: [(&str, &str); 2] = [("windows", "Windows"), ("iOS", "iOS")];
/// Where the evaluated sign-ins come from: an address outside any range an admin would trust, so a
/// policy that skips trusted locations is evaluated as applying (the reading that cannot overstate
/// coverage).
const COUNTRY: &str = "US";
const IP_ADDRESS: &str = "203.0.113.10";
/// Users evaluated at once: the calls go out one per second whatever this is; a small number keeps
/// each user's scenarios together, so users finish (and show progress) one after another.
const USERS_AT_ONCE: usize = 2;

/// An app seen in a user's per-user-only sign-ins (id and display name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInApp {
    pub id: String,
    pub name: String,
}

/// Asks Graph's What-If for users and words the answers.
pub struct WhatIf {
    client: Arc<GraphClient>,
    notify: Arc<dyn Notify>,
    events: crate::job::EventSink,
    users_at_once: Semaphore,
    /// Set once Graph refused What-If for want of a permission: the rest are not asked.
    refused: AtomicBool,
    /// Set once Graph answered one What-If: until then requests go one at a time, so a token
    /// without the permission costs one refused request, not one per user in flight.
    answered: AtomicBool,
    first_answer: tokio::sync::Mutex<()>,
    pub requests: AtomicU64,
}

/// One sign-in to evaluate.
struct Scenario<'a> {
    app_id: &'a str,
    app_name: &'a str,
    client: (&'a str, &'a str),
    platform: (&'a str, &'a str),
}

impl WhatIf {
    pub fn new(client: Arc<GraphClient>, notify: Arc<dyn Notify>, events: crate::job::EventSink) -> WhatIf {
        WhatIf {
            client,
            notify,
            events,
            users_at_once: Semaphore::new(USERS_AT_ONCE),
            refused: AtomicBool::new(false),
            answered: AtomicBool::new(false),
            first_answer: tokio::sync::Mutex::new(()),
            requests: AtomicU64::new(0),
        }
    }

    /// One sentence per scenario for `user_id`: the standard apps and `sign_in_apps` (the apps of
    /// the user's per-user-only sign-ins, when the sign-in evidence was read), each from a browser
    /// and from mobile/desktop apps, on Windows and iOS. Empty when What-If cannot be used (one
    /// warning says why). `Err` only for what ends the job (a rejected token).
    pub async fn evaluate_user(&self, user_id: &str, sign_in_apps: &[SignInApp]) -> Result<Vec<String>, EngineError> {
        let mut apps: Vec<(&str, &str)> = STANDARD_APPS.to_vec();
        for app in sign_in_apps {
            if !apps.iter().any(|(id, _)| id.eq_ignore_ascii_case(&app.id)) {
                apps.push((&app.id, &app.name));
            }
        }
        let _turn = self.users_at_once.acquire().await.expect("the semaphore is never closed");
        let mut sentences = Vec::new();
        for (app_id, app_name) in apps {
            for client in CLIENTS {
                for platform in PLATFORMS {
                    if self.refused.load(Ordering::Relaxed) {
                        return Ok(Vec::new());
                    }
                    let scenario = Scenario { app_id, app_name, client, platform };
                    match self.evaluate(user_id, &scenario).await? {
                        Some(sentence) => sentences.push(sentence),
                        None => return Ok(Vec::new()),
                    }
                }
            }
        }
        Ok(sentences)
    }

    /// One scenario's sentence; None when Graph refused What-If for want of a permission.
    async fn evaluate(&self, user_id: &str, scenario: &Scenario<'_>) -> Result<Option<String>, EngineError> {
        let body = json!({
            "signInIdentity": { "@odata.type": "#microsoft.graph.userSignIn", "userId": user_id },
            "signInContext": {
                "@odata.type": "#microsoft.graph.applicationContext",
                "includeApplications": [scenario.app_id],
            },
            "signInConditions": {
                "devicePlatform": scenario.platform.0,
                "clientAppType": scenario.client.0,
                "country": COUNTRY,
                "ipAddress": IP_ADDRESS,
                "signInRiskLevel": "none",
                "userRiskLevel": "none",
            },
            "appliedPoliciesOnly": false,
        });
        let describe = format!("evaluate What-If for {user_id} ({})", scenario.label());
        let request = Request {
            method: Method::POST,
            url: self.client.url(ApiVersion::Beta, "/identity/conditionalAccess/evaluate"),
            body: Some(body),
            eventual_consistency: false,
            cost: vec![(Budget::ConditionalAccess, 1)],
            describe: describe.clone(),
        };
        let _first = match self.answered.load(Ordering::Relaxed) {
            true => None,
            false => Some(self.first_answer.lock().await),
        };
        if self.refused.load(Ordering::Relaxed) {
            return Ok(None);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self.client.send(&request, self.notify.as_ref()).await?;
        if response.is_success() {
            self.answered.store(true, Ordering::Relaxed);
            return Ok(Some(scenario.sentence(&response.body)));
        }
        let (code, message) = graph_error(&response.body);
        match response.status {
            401 => Err(EngineError::new(
                ErrorKind::Unauthorized,
                format!("Graph rejected the token when asked to {describe} (401 {}).", code.unwrap_or_default()),
            )),
            403 => {
                if !self.refused.swap(true, Ordering::Relaxed) {
                    self.events
                        .send(Event::warning(format!(
                            "-Evaluate: Graph refused What-If (403 {}): the connection needs Policy.Read.ConditionalAccess \
                             (or Policy.Read.All). The WhatIf column is left empty; the verdicts do not depend on it.",
                            code.unwrap_or_default()
                        )))
                        .await;
                }
                Ok(None)
            }
            status => Ok(Some(format!(
                "{}: not evaluated (Graph answered {status} {}{})",
                scenario.label(),
                code.unwrap_or_default(),
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ))),
        }
    }
}

impl Scenario<'_> {
    fn label(&self) -> String {
        format!("{}, {}, {}", self.app_name, self.client.1, self.platform.1)
    }

    /// The sentence for one What-If answer: whether an enabled policy that applies requires MFA
    /// (and which), what report-only policies would add, and the policies What-If could not
    /// evaluate for lack of information.
    fn sentence(&self, answer: &Value) -> String {
        let no_locations = HashMap::new();
        let mut requiring = Vec::new();
        let mut report_only = Vec::new();
        let mut undecided = Vec::new();
        for result in answer["value"].as_array().into_iter().flatten() {
            let policy = Policy::analyse(result, &no_locations);
            if !policy.requires_mfa {
                continue;
            }
            let name = format!("'{}'", result["displayName"].as_str().unwrap_or("(unnamed policy)"));
            let applies = result["policyApplies"].as_bool() == Some(true);
            let reason = result["analysisReasons"].as_str().unwrap_or_default();
            match result["state"].as_str() {
                Some("enabled") if applies => requiring.push(name),
                Some("enabled") if reason.eq_ignore_ascii_case("notEnoughInformation") => undecided.push(name),
                Some("enabledForReportingButNotEnforced") if applies => report_only.push(name),
                _ => {}
            }
        }
        let mut text = if requiring.is_empty() {
            format!("{}: MFA not required", self.label())
        } else {
            format!("{}: MFA required by {}", self.label(), requiring.join(", "))
        };
        if !report_only.is_empty() {
            text.push_str(&format!(" (report-only: {})", report_only.join(", ")));
        }
        if !undecided.is_empty() {
            text.push_str(&format!("; What-If could not evaluate {}", undecided.join(", ")));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, state: &str, applies: bool, reason: &str, controls: &[&str]) -> Value {
        json!({
            "displayName": name, "state": state, "policyApplies": applies, "analysisReasons": reason,
            "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["All"] } },
            "grantControls": { "operator": "OR", "builtInControls": controls },
        })
    }

    #[test]
    fn a_sentence_names_the_policies_that_require_mfa_and_the_report_only_ones() {
        let scenario = Scenario {
            app_id: STANDARD_APPS[0].0,
            app_name: STANDARD_APPS[0].1,
            client: CLIENTS[0],
            platform: PLATFORMS[1],
        };
        let answer = json!({ "value": [
            result("MFA for all", "enabled", true, "notSet", &["mfa"]),
            result("Block legacy", "enabled", true, "notSet", &["block"]),
            result("MFA pilot", "enabledForReportingButNotEnforced", true, "notSet", &["mfa"]),
            result("MFA for devices", "enabled", false, "notEnoughInformation", &["mfa"]),
            result("Old", "disabled", false, "policyNotEnabled", &["mfa"]),
        ]});
        assert_eq!(
            scenario.sentence(&answer),
            "Exchange Online, browser, iOS: MFA required by 'MFA for all' (report-only: 'MFA pilot'); What-If could \
             not evaluate 'MFA for devices'"
        );
        let none =
            json!({ "value": [result("MFA pilot", "enabledForReportingButNotEnforced", false, "users", &["mfa"])] });
        assert_eq!(scenario.sentence(&none), "Exchange Online, browser, iOS: MFA not required");
    }
}
