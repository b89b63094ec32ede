//! `Get-PerUserMfaState -Detailed`: one `userReport` per user, joining the per-user MFA state
//! listing with the report sources.
//!
//! 1. The bulk sources (registration details, sign-in activity and, with `-IncludeMfaSignIns`,
//!    the MFA sign-ins of the sign-in logs) are fetched side by side, each paced by its own Graph
//!    budget, into compact maps keyed by the user id's 128 bits (`report_sources.rs`). The phase
//!    takes as long as the slowest source.
//! 2. The users listing (state, type, licences, password data in the same `$select`) then streams
//!    as in `getStates`, and each user is joined with the maps and sent at once. With
//!    `-IncludeMethodDetails` each user also costs one `/authentication/methods` request through
//!    `$batch`; without it, no phone number or address is ever read.
//!
//! A source Graph refuses leaves its columns null and produces one warning per cause (a missing
//! permission, an Entra ID Free tenant), never an error per user.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::listing::{
    first_page_url, identity_of, listing_error, missing_id, page_or_outage, tell_left_out, NextLinks,
};
use super::patience::Patience;
use super::per_user::{check, read_state, read_user_with};
use super::report_sources::{self as sources, Activities, MfaSignIns, Registrations, SourceFailure, SourceResult};
use super::{naming_user, report_per_user, send_outcome, InputTasks, UserTasks};
use crate::error::{EngineError, ErrorKind, Operation};
use crate::events::Event;
use crate::graph::batch::{Batcher, SubRequest};
use crate::graph::paths::methods_path;
use crate::graph::throttle::Budget;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::model::UserReport;
use crate::options::{ReportOptions, Scope, MAX_SIGN_IN_DAYS};
use crate::utc;

/// The directory properties the report reads from the users listing (no extra permission).
pub(super) const DIRECTORY_SELECT: &str = "id,userPrincipalName,displayName,userType,accountEnabled,assignedLicenses,\
lastPasswordChangeDateTime,passwordPolicies,signInSessionsValidFromDateTime";

pub(super) const REGISTRATION_COLUMNS: &str =
    "IsAdmin, IsMfaRegistered, IsMfaCapable, MethodsRegistered, DefaultMfaMethod, PreferredMfaMethod";
pub(super) const ACTIVITY_COLUMNS: &str =
    "LastSignIn, LastSuccessfulSignIn, DaysSinceLastSignIn, DaysSinceLastSuccessfulSignIn";
pub(super) const MFA_COLUMNS: &str = "LastMfaSignIn, DaysSinceLastMfaSignIn";

/// The joined sources, shared by the workers.
pub(super) struct Sources {
    pub(super) registrations: Option<Registrations>,
    pub(super) activities: Option<Activities>,
    pub(super) mfa: Option<MfaSignIns>,
    pub(super) mfa_requested: bool,
    pub(super) methods_requested: bool,
    pub(super) now: i64,
}

impl Sources {
    /// Builds a user's row from a users-listing object and the user's state.
    pub(super) fn row(&self, target: &str, user: &Value, state: String, methods: Option<Option<String>>) -> UserReport {
        let text = |name: &str| user[name].as_str().map(str::to_string);
        let id = text("id").unwrap_or_default();
        let key = sources::user_key(&id);
        let mut row = UserReport {
            target: target.to_string(),
            user_principal_name: text("userPrincipalName"),
            display_name: text("displayName"),
            per_user_mfa_state: state,
            user_type: text("userType"),
            account_enabled: user["accountEnabled"].as_bool(),
            is_licensed: user["assignedLicenses"].as_array().map(|l| !l.is_empty()),
            password_policies: text("passwordPolicies").filter(|p| !p.is_empty()),
            ..UserReport::default()
        };
        row.password_never_expires = Some(
            row.password_policies
                .as_deref()
                .is_some_and(|p| p.split(',').any(|x| x.trim().eq_ignore_ascii_case("DisablePasswordExpiration"))),
        );
        let changed = sources::date(&user["lastPasswordChangeDateTime"]);
        row.password_last_changed = changed.map(utc::format);
        row.password_age_days = changed.map(|t| utc::days_since(t, self.now));
        row.sign_in_sessions_valid_from = sources::date(&user["signInSessionsValidFromDateTime"]).map(utc::format);
        if let Some(registration) = self.registrations.as_ref().and_then(|m| m.get(&key)) {
            row.is_admin = registration.is_admin;
            row.is_mfa_registered = registration.is_mfa_registered;
            row.is_mfa_capable = registration.is_mfa_capable;
            row.methods_registered = Some(registration.methods_registered.to_string());
            row.default_mfa_method = registration.default_mfa_method.as_deref().map(str::to_string);
            row.preferred_mfa_method = registration.preferred_mfa_method.as_deref().map(str::to_string);
        }
        if let Some(activity) = self.activities.as_ref().and_then(|m| m.get(&key)) {
            row.last_sign_in = activity.last_sign_in.map(utc::format);
            row.last_successful_sign_in = activity.last_successful.map(utc::format);
            row.days_since_last_sign_in = activity.last_sign_in.map(|t| utc::days_since(t, self.now));
            row.days_since_last_successful_sign_in = activity.last_successful.map(|t| utc::days_since(t, self.now));
        }
        if self.mfa_requested {
            let at = self.mfa.as_ref().and_then(|m| m.get(&key)).copied();
            row.last_mfa_sign_in = Some(at.map(utc::format));
            row.days_since_last_mfa_sign_in = Some(at.map(|t| utc::days_since(t, self.now)));
        }
        if self.methods_requested {
            row.authentication_methods = Some(methods.flatten());
        }
        row.id = id;
        row
    }
}

pub async fn run(
    context: JobContext,
    scope: Scope,
    options: ReportOptions,
    throttle_limit: usize,
    mut input: mpsc::UnboundedReceiver<String>,
) -> Result<(), EngineError> {
    if !(1..=MAX_SIGN_IN_DAYS).contains(&options.sign_in_days) {
        return Err(EngineError::invalid_input(format!(
            "-SignInDays {} is out of range: give a number from 1 to {MAX_SIGN_IN_DAYS} (Graph keeps sign-in logs for 30 days).",
            options.sign_in_days
        )));
    }
    let mut asked = Vec::new();
    if scope == Scope::Input {
        // Few users read per user; the tenant-wide sources pay off only for many (report_per_user.rs).
        let closed = gather(&mut input, &mut asked, report_per_user::MOST_USERS_PER_USER).await;
        if closed && report_per_user::worth_reading_per_user(&context, asked.len()).await {
            let methods = options.method_details.then(|| MethodReader::new(&context, throttle_limit));
            if let Some(methods) = &methods {
                methods.warn_duration(&context, Some(asked.len() as u64)).await;
            }
            return report_per_user::run(context, options, methods, throttle_limit, asked).await;
        }
    }
    let notify = context.notify();
    let client = context.client.clone();
    let activity_scope = if scope == Scope::Input { Scope::All } else { scope };
    context
        .events
        .send(Event::verbose(format!(
            "Reading the report sources side by side, each at its own Graph budget: registration details, sign-in activity{}.",
            if options.mfa_sign_ins { ", MFA sign-ins from the sign-in logs" } else { "" }
        )))
        .await;
    let (registrations, activities, mfa) = tokio::join!(
        sources::registrations(&client, notify.as_ref()),
        sources::activities(&client, activity_scope, notify.as_ref()),
        async {
            if options.mfa_sign_ins {
                Some(sources::mfa_sign_ins(&client, options.sign_in_days, notify.as_ref()).await)
            } else {
                None
            }
        },
    );
    let mut failures: Vec<(&'static str, SourceFailure)> = Vec::new();
    let registrations = keep(registrations, REGISTRATION_COLUMNS, &mut failures)?;
    let activities = keep(activities, ACTIVITY_COLUMNS, &mut failures)?;
    let mfa = match mfa {
        Some(result) => keep(result, MFA_COLUMNS, &mut failures)?,
        None => None,
    };
    for warning in failure_warnings(&failures) {
        context.events.send(Event::warning(warning)).await;
    }
    let sources = Arc::new(Sources {
        registrations,
        activities,
        mfa,
        mfa_requested: options.mfa_sign_ins,
        methods_requested: options.method_details,
        now: utc::now(),
    });
    let methods = options.method_details.then(|| MethodReader::new(&context, throttle_limit));
    match scope {
        Scope::Input => for_input(context, sources, methods, throttle_limit, asked, input).await,
        _ => for_listing(context, scope, sources, methods, throttle_limit).await,
    }
}

/// Moves pipeline input into `asked` until the input closes (true) or holds more than `most` users (false).
async fn gather(input: &mut mpsc::UnboundedReceiver<String>, asked: &mut Vec<String>, most: usize) -> bool {
    while asked.len() <= most {
        match input.recv().await {
            Some(user) => asked.push(user),
            None => return true,
        }
    }
    false
}

/// A source's map, or None with its failure noted; a fatal error (401) ends the job.
fn keep<T>(
    result: SourceResult<T>,
    columns: &'static str,
    failures: &mut Vec<(&'static str, SourceFailure)>,
) -> Result<Option<T>, EngineError> {
    match result {
        Ok(map) => Ok(Some(map)),
        Err(Err(fatal)) => Err(fatal),
        Err(Ok(failure)) => {
            failures.push((columns, failure));
            Ok(None)
        }
    }
}

/// One warning per cause: a missing permission (naming it and what it would add), a tenant
/// without Entra ID P1/P2, or another failure of one source.
pub(super) fn failure_warnings(failures: &[(&'static str, SourceFailure)]) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut permissions: Vec<&'static str> = Vec::new();
    for (_, failure) in failures {
        if let SourceFailure::Permission(p) = failure {
            if !permissions.contains(p) {
                permissions.push(p);
            }
        }
    }
    for permission in permissions {
        let columns: Vec<&str> =
            failures.iter().filter(|(_, f)| *f == SourceFailure::Permission(permission)).map(|(c, _)| *c).collect();
        warnings.push(format!(
            "Graph refused the sign-in and registration reports (403): the token lacks the Microsoft Graph permission {permission}. \
             These columns stay empty: {}. Grant {permission} to fill them (delegated: Connect-MgGraph -Scopes {permission}, \
             with a role such as Reports Reader or Global Reader; app: add the application permission and grant admin consent). \
             Every other column is complete.",
            columns.join(", ")
        ));
    }
    let premium: Vec<&str> =
        failures.iter().filter(|(_, f)| *f == SourceFailure::NotPremium).map(|(c, _)| *c).collect();
    if !premium.is_empty() {
        warnings.push(format!(
            "This tenant has no Microsoft Entra ID P1 or P2 licence (Graph: {}), and Graph serves registration details and \
             sign-in data only to premium tenants. These columns stay empty: {}. Every other column is complete.",
            sources::NON_PREMIUM,
            premium.join(", ")
        ));
    }
    for (columns, failure) in failures {
        if let SourceFailure::Other(message) = failure {
            warnings.push(format!("{message}. These columns stay empty: {columns}. Every other column is complete."));
        }
    }
    warnings
}

/// `-IncludeMethodDetails`: one `/authentication/methods` request per user through `$batch`.
#[derive(Clone)]
pub(super) struct MethodReader {
    batcher: Batcher,
    _guard: Arc<crate::graph::batch::BatcherGuard>,
    denied: Arc<AtomicBool>,
    warned: Arc<AtomicBool>,
}

impl MethodReader {
    fn new(context: &JobContext, throttle_limit: usize) -> MethodReader {
        let (batcher, guard) = Batcher::spawn(context.client.clone(), ApiVersion::V1, throttle_limit, context.notify());
        MethodReader {
            batcher,
            _guard: Arc::new(guard),
            denied: Arc::new(AtomicBool::new(false)),
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Warns once, before the first request, what the per-user reads will cost.
    async fn warn_duration(&self, context: &JobContext, users: Option<u64>) {
        if self.warned.swap(true, Ordering::SeqCst) {
            return;
        }
        let fast = |n: u64| duration_text(n as f64 / 800.0);
        let slow = |n: u64| duration_text(n as f64 * 2.0);
        let message = match users {
            Some(n) => format!(
                "-IncludeMethodDetails reads each user's authentication methods with one Graph request per user ({n} users): \
                 about {} at Graph's directory read budget, but up to {} if Graph throttles these requests as strictly as its \
                 reports (5 requests per 10 s). Leave the switch off for a quick report.",
                fast(n),
                slow(n)
            ),
            None => "-IncludeMethodDetails reads each user's authentication methods with one Graph request per user: about 1 s \
                     per 800 users at Graph's directory read budget, but up to 2 s per user if Graph throttles these requests as \
                     strictly as its reports (5 requests per 10 s)."
                .to_string(),
        };
        context.events.send(Event::warning(message)).await;
    }

    /// The user's methods as one line; None when Graph refused (warned once per job).
    pub(super) async fn read(&self, context: &JobContext, id: &str) -> Result<Option<String>, EngineError> {
        if self.denied.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let path = methods_path(id);
        let answer = self.batcher.call(SubRequest::get_from(path, Budget::AuthMethods)).await?;
        if answer.is_success() {
            return Ok(Some(sources::describe_methods(&answer.body)));
        }
        if answer.status == 401 {
            return Err(check(answer, Operation::ReadUser, id).unwrap_err());
        }
        if answer.status == 403 {
            if !self.denied.swap(true, Ordering::SeqCst) {
                context
                    .events
                    .send(Event::warning(format!(
                        "Graph refused to read authentication methods (403): the token lacks the Microsoft Graph permission {}. \
                         The AuthenticationMethods column stays empty; every other column is complete.",
                        sources::METHODS_READ
                    )))
                    .await;
            }
            return Ok(None);
        }
        context
            .events
            .send(Event::verbose(format!(
                "Could not read the authentication methods of '{id}' (Graph answered {}).",
                answer.status
            )))
            .await;
        Ok(None)
    }
}

fn duration_text(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{:.0} s", seconds.max(1.0))
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

async fn for_listing(
    context: JobContext,
    scope: Scope,
    sources: Arc<Sources>,
    methods: Option<MethodReader>,
    throttle_limit: usize,
) -> Result<(), EngineError> {
    let notify = context.notify();
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, notify.clone());
    let mut tasks = UserTasks::new(&context, throttle_limit);
    let bulk_select = format!("{DIRECTORY_SELECT},perUserMfaState");
    let mut next = Some(first_page_url(&context.client, scope, &bulk_select));
    let mut links = NextLinks::default();
    let mut first_page = true;
    let mut pages = 0u32;
    let patience = Patience::new(&context);
    let mut listed = 0u64;
    while let Some(url) = next.take() {
        let page = match patience.read(|| page_or_outage(&context.client, &url, notify.as_ref())).await? {
            Ok(page) => page,
            Err((400, _, _)) if first_page => {
                first_page = false;
                next = Some(first_page_url(&context.client, scope, DIRECTORY_SELECT));
                continue;
            }
            Err((status, body, request_id)) => return Err(listing_error(status, &body, request_id)),
        };
        first_page = false;
        pages += 1;
        if let Some(count) = page.count {
            context.progress.set_total(count);
        }
        if let Some(methods) = &methods {
            methods.warn_duration(&context, page.count).await;
        }
        listed += page.users.len() as u64;
        for (position, mut user) in page.users.into_iter().enumerate() {
            let Some(identity) = identity_of(&user) else {
                let (target, error) = missing_id(&user, pages, position);
                send_outcome(&context, &target, Err(error)).await;
                continue;
            };
            let state = user.get_mut("perUserMfaState").and_then(|v| v.as_str().map(str::to_string));
            let id = identity.id;
            if state.is_some() && methods.is_none() {
                let row = sources.row(&id, &user, state.unwrap_or_default(), None);
                send_outcome(&context, &id, Ok(Event::UserReport(Box::new(row)).to_json())).await;
                continue;
            }
            let (context, sources, batcher, methods, patience) =
                (context.clone(), sources.clone(), batcher.clone(), methods.clone(), patience.clone());
            tasks
                .spawn_user(id.clone(), async move {
                    let state = match state {
                        Some(state) => state,
                        None => patience.read(|| read_state(&batcher, &id, &id)).await?,
                    };
                    let details = match &methods {
                        Some(reader) => Some(reader.read(&context, &id).await?),
                        None => None,
                    };
                    Ok(Event::UserReport(Box::new(sources.row(&id, &user, state, details))).to_json())
                })
                .await;
        }
        next = page.next_link;
        if let Some(link) = &next {
            links.follow(link, "list users for the report")?;
        }
    }
    tasks.finish().await;
    if scope == Scope::LicensedMembers {
        tell_left_out(&context, listed).await;
    }
    Ok(())
}

async fn for_input(
    context: JobContext,
    sources: Arc<Sources>,
    methods: Option<MethodReader>,
    throttle_limit: usize,
    asked: Vec<String>,
    mut input: mpsc::UnboundedReceiver<String>,
) -> Result<(), EngineError> {
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    if let Some(methods) = &methods {
        methods.warn_duration(&context, None).await;
    }
    let mut tasks = InputTasks::new(&context, throttle_limit);
    let mut asked = asked.into_iter();
    loop {
        let target = match asked.next() {
            Some(target) => target,
            None => match input.recv().await {
                Some(target) => target,
                None => break,
            },
        };
        let (context, sources, batcher, methods) = (context.clone(), sources.clone(), batcher.clone(), methods.clone());
        let user = target.clone();
        tasks
            .spawn(target, async move {
                let row = async {
                    let (properties, state) = read_user_with(&batcher, &user, DIRECTORY_SELECT).await?;
                    let identity = identity_of(&properties).ok_or_else(|| {
                        EngineError::new(
                            ErrorKind::GraphError,
                            format!("Graph's answer for user '{}' had no id.", crate::error::shown(&user)),
                        )
                    })?;
                    let details = match &methods {
                        Some(reader) => Some(reader.read(&context, &identity.id).await?),
                        None => None,
                    };
                    Ok(Event::UserReport(Box::new(sources.row(&user, &properties, state, details))).to_json())
                }
                .await;
                row.map_err(
                    |e: EngineError| {
                        if e.kind == ErrorKind::UserNotFound {
                            e
                        } else {
                            naming_user(e, "report on", &user)
                        }
                    },
                )
            })
            .await;
    }
    tasks.finish().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sources() -> Sources {
        let id = "00000000-0000-4000-8000-000000000002";
        let mut registrations = Registrations::new();
        registrations.insert(
            sources::user_key(id),
            sources::Registration {
                is_admin: Some(false),
                is_mfa_registered: Some(true),
                is_mfa_capable: Some(true),
                methods_registered: Arc::from("microsoftAuthenticatorPush, mobilePhone"),
                default_mfa_method: Some(Arc::from("microsoftAuthenticatorPush")),
                preferred_mfa_method: Some(Arc::from("push")),
            },
        );
        let mut activities = Activities::new();
        let now = utc::parse("2026-11-10T12:00:00Z").unwrap();
        activities.insert(
            sources::user_key(id),
            sources::SignInActivity {
                last_sign_in: Some(now - 3 * 86_400 - 5),
                last_successful: Some(now - 10 * 86_400),
            },
        );
        Sources {
            registrations: Some(registrations),
            activities: Some(activities),
            mfa: None,
            mfa_requested: true,
            methods_requested: false,
            now,
        }
    }

    #[test]
    fn join_fills_every_column_and_leaves_missing_sources_null() {
        let user = json!({
            "id": "00000000-0000-4000-8000-000000000002", "userPrincipalName": "alex.wilber@contoso.com",
            "displayName": "Alex Wilber", "userType": "Member", "accountEnabled": true,
            "assignedLicenses": [{"skuId": "x", "disabledPlans": []}],
            "lastPasswordChangeDateTime": "2026-10-01T12:00:00Z", "passwordPolicies": "DisablePasswordExpiration",
            "signInSessionsValidFromDateTime": "2026-09-01T00:00:00Z"
        });
        let row = sources().row("t", &user, "enforced".into(), None);
        let v = serde_json::to_value(Event::UserReport(Box::new(row))).unwrap();
        assert_eq!(v["type"], "userReport");
        assert_eq!(v["isLicensed"], true);
        assert_eq!(v["methodsRegistered"], "microsoftAuthenticatorPush, mobilePhone");
        assert_eq!(v["daysSinceLastSignIn"], 3);
        assert_eq!(v["daysSinceLastSuccessfulSignIn"], 10);
        assert_eq!(v["passwordAgeDays"], 40);
        assert_eq!(v["passwordNeverExpires"], true);
        assert_eq!(v["lastMfaSignIn"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("lastMfaSignIn"));
        assert!(!v.as_object().unwrap().contains_key("authenticationMethods"), "absent without -IncludeMethodDetails");

        let stranger =
            json!({"id": "00000000-0000-4000-8000-000000000099", "assignedLicenses": [], "passwordPolicies": null});
        let v = serde_json::to_value(sources().row("t", &stranger, "disabled".into(), None)).unwrap();
        assert_eq!(v["isMfaRegistered"], Value::Null);
        assert_eq!(v["lastSignIn"], Value::Null);
        assert_eq!(v["isLicensed"], false);
        assert_eq!(v["passwordNeverExpires"], false);
    }

    #[test]
    fn one_warning_per_missing_permission() {
        let failures = vec![
            (REGISTRATION_COLUMNS, SourceFailure::Permission(sources::AUDIT_LOG_READ)),
            (ACTIVITY_COLUMNS, SourceFailure::Permission(sources::AUDIT_LOG_READ)),
            (MFA_COLUMNS, SourceFailure::Permission(sources::AUDIT_LOG_READ)),
        ];
        let warnings = failure_warnings(&failures);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("AuditLog.Read.All")
                && warnings[0].contains("LastMfaSignIn")
                && warnings[0].contains("IsMfaRegistered")
        );
        let premium = failure_warnings(&[
            (REGISTRATION_COLUMNS, SourceFailure::NotPremium),
            (ACTIVITY_COLUMNS, SourceFailure::NotPremium),
        ]);
        assert_eq!(premium.len(), 1);
        assert!(premium[0].contains("P1 or P2"));
    }
}
