//! `Get-PerUserMfaState -Detailed -UserId` for a few users: each user's report sources are read
//! for that user alone, instead of paging through the whole tenant's.
//!
//! The tenant-wide sources cost pages in proportion to the tenant (registration details: 999
//! users per page at 5 requests per 10 s; sign-in activity: 500 per page at 10 per 60 s), the
//! per-user reads one request per user and source at the same budgets. So reading per user is
//! never slower while the users asked for are no more than the registration source's pages:
//! [`worth_reading_per_user`] decides from the tenant's user count (one `$count` request).
//!
//! Per user, through `$batch`: the user and its state (as for every `-UserId` read), then side
//! by side `userRegistrationDetails?$filter=id eq '{id}'`, `/users/{id}?$select=id,signInActivity`
//! and, with `-IncludeMfaSignIns`, the user's latest MFA sign-in in the window (`$top=1`, newest
//! first). A source Graph refuses for want of a permission or a premium licence is not asked
//! again and leaves its columns empty with the same warnings as the tenant-wide read; any other
//! failure is that user's error record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use super::listing::{fetch_page, identity_of};
use super::per_user::{check, read_user_with};
use super::report::{
    failure_warnings, MethodReader, Sources, ACTIVITY_COLUMNS, DIRECTORY_SELECT, MFA_COLUMNS, REGISTRATION_COLUMNS,
};
use super::report_sources::{self as sources, Activities, Interner, MfaSignIns, Registrations, SourceFailure};
use super::{naming_user, InputTasks};
use crate::error::{shown, EngineError, ErrorKind, Operation};
use crate::events::Event;
use crate::graph::batch::{Batcher, SubRequest};
use crate::graph::paths::user_segment;
use crate::graph::throttle::Budget;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::options::ReportOptions;
use crate::utc;

/// The most users ever read per user, whatever the tenant's size (a tenant would need about a
/// million users for more to pay off).
pub const MOST_USERS_PER_USER: usize = 1000;

/// Users per page of the registration details, the tenant-wide source with the fewest pages.
const REGISTRATION_PAGE: u64 = 999;

/// Whether reading `users` users one by one costs fewer report requests than paging through a
/// tenant of `tenant_users`.
pub fn per_user_is_cheaper(users: usize, tenant_users: u64) -> bool {
    users > 0 && users <= MOST_USERS_PER_USER && users as u64 <= tenant_users.div_ceil(REGISTRATION_PAGE)
}

/// The tenant's user count (one request for one id with `$count`), if Graph tells it.
pub async fn tenant_user_count(context: &JobContext) -> Option<u64> {
    let url = context.client.url(ApiVersion::V1, "/users?$select=id&$count=true&$top=1");
    match fetch_page(&context.client, &url, context.notify().as_ref()).await {
        Ok(Ok(page)) => page.count,
        _ => None,
    }
}

/// Whether to read `users` users per user, saying why in -Verbose either way.
pub async fn worth_reading_per_user(context: &JobContext, users: usize) -> bool {
    if users == 0 || users > MOST_USERS_PER_USER {
        return false;
    }
    let Some(tenant) = tenant_user_count(context).await else {
        return false;
    };
    let per_user = per_user_is_cheaper(users, tenant);
    let how = if per_user {
        "reading each one's registration details and sign-in activity on its own"
    } else {
        "reading the tenant-wide registration details and sign-in activity"
    };
    context.events.send(Event::verbose(format!("{users} users asked for in a tenant of {tenant} users: {how}."))).await;
    per_user
}

/// A source refused for the whole job: asked no more, its columns stay empty.
#[derive(Default)]
struct Refusals(Mutex<HashMap<&'static str, SourceFailure>>);

impl Refusals {
    fn refused(&self, columns: &'static str) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains_key(columns)
    }

    fn note(&self, columns: &'static str, failure: SourceFailure) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(columns).or_insert(failure);
    }

    fn warnings(&self) -> Vec<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut failures: Vec<(&'static str, SourceFailure)> = map.iter().map(|(c, f)| (*c, f.clone())).collect();
        failures.sort_by_key(|(columns, _)| *columns);
        failure_warnings(&failures)
    }
}

struct Reader {
    beta: Batcher,
    v1: Batcher,
    refusals: Refusals,
    options: ReportOptions,
    methods: Option<MethodReader>,
    mfa_since: i64,
}

impl Reader {
    /// One source's answer for one user: Ok(Some(body)), Ok(None) when the source is refused
    /// (noted for the warnings), Err for anything that makes this user's row unreliable.
    async fn source(
        &self,
        batcher: &Batcher,
        columns: &'static str,
        path: String,
        budget: Budget,
        target: &str,
    ) -> Result<Option<Value>, EngineError> {
        if self.refusals.refused(columns) {
            return Ok(None);
        }
        let answer = batcher.call(SubRequest { budget, ..SubRequest::get(path) }).await?;
        if answer.is_success() {
            return Ok(Some(answer.body));
        }
        if answer.status == 403 {
            let (code, _) = crate::graph::client::graph_error(&answer.body);
            let failure = if code.is_some_and(|c| c.eq_ignore_ascii_case(sources::NON_PREMIUM)) {
                SourceFailure::NotPremium
            } else {
                SourceFailure::Permission(sources::AUDIT_LOG_READ)
            };
            self.refusals.note(columns, failure);
            return Ok(None);
        }
        Err(check(answer, Operation::ReadUser, target).unwrap_err())
    }

    async fn row(&self, context: &JobContext, target: &str) -> Result<String, EngineError> {
        let (properties, state) = read_user_with(&self.beta, target, DIRECTORY_SELECT).await?;
        let identity = identity_of(&properties).ok_or_else(|| {
            EngineError::new(ErrorKind::GraphError, format!("Graph's answer for user '{}' had no id.", shown(target)))
        })?;
        let id = identity.id.as_str();
        let segment = user_segment(id);
        let quoted = id.replace('\'', "''");
        let registration_path = format!(
            "/reports/authenticationMethods/userRegistrationDetails?$filter={}",
            utf8_percent_encode(&format!("id eq '{quoted}'"), NON_ALPHANUMERIC)
        );
        let activity_path = format!("/users/{segment}?$select=id,signInActivity");
        let (registration, activity, mfa, methods) = tokio::join!(
            // Beta: only beta's registration details have defaultMfaMethod.
            self.source(&self.beta, REGISTRATION_COLUMNS, registration_path, Budget::Reports, target),
            self.source(&self.v1, ACTIVITY_COLUMNS, activity_path, Budget::SignInActivity, target),
            async {
                if !self.options.mfa_sign_ins {
                    return Ok(None);
                }
                let filter = format!("userId eq '{quoted}' and {}", sources::mfa_filter(self.mfa_since));
                let path =
                    format!("/auditLogs/signIns?$filter={}&$top=1", utf8_percent_encode(&filter, NON_ALPHANUMERIC));
                self.source(&self.beta, MFA_COLUMNS, path, Budget::SignInLogs, target).await
            },
            async {
                match &self.methods {
                    Some(reader) => reader.read(context, id).await.map(Some),
                    None => Ok(None),
                }
            },
        );
        let key = sources::user_key(id);
        let registrations = registration?.map(|body| {
            let mut interner = Interner::default();
            let mut map = Registrations::new();
            for row in body["value"].as_array().into_iter().flatten() {
                if let Some((k, registration)) = sources::registration_of(row, &mut interner) {
                    if k == key {
                        map.insert(k, registration);
                    }
                }
            }
            map
        });
        let activities = activity?.map(|body| {
            let mut map = Activities::new();
            if let Some((k, activity)) = sources::activity_of(&body) {
                if k == key {
                    map.insert(k, activity);
                }
            }
            map
        });
        let mfa = mfa?.map(|body| {
            let mut map = MfaSignIns::new();
            let latest = body["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| sources::date(&s["createdDateTime"]))
                .max();
            if let Some(at) = latest {
                map.insert(key, at);
            }
            map
        });
        let joined = Sources {
            registrations,
            activities,
            mfa,
            mfa_requested: self.options.mfa_sign_ins,
            methods_requested: self.options.method_details,
            now: utc::now(),
        };
        Ok(Event::UserReport(Box::new(joined.row(target, &properties, state, methods?))).to_json())
    }
}

/// Reads each of `users` with its own report sources; warnings for refused sources at the end.
pub async fn run(
    context: JobContext,
    options: ReportOptions,
    methods: Option<MethodReader>,
    throttle_limit: usize,
    users: Vec<String>,
) -> Result<(), EngineError> {
    let (beta, _beta_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let (v1, _v1_guard) = Batcher::spawn(context.client.clone(), ApiVersion::V1, throttle_limit, context.notify());
    let mfa_since = utc::now() - i64::from(options.sign_in_days) * utc::DAY;
    let reader = Arc::new(Reader { beta, v1, refusals: Refusals::default(), options, methods, mfa_since });
    let mut tasks = InputTasks::new(&context, throttle_limit);
    for target in users {
        let (reader, context) = (reader.clone(), context.clone());
        let user = target.clone();
        tasks
            .spawn(target, async move {
                reader.row(&context, &user).await.map_err(|e| {
                    if e.kind == ErrorKind::UserNotFound {
                        e
                    } else {
                        naming_user(e, "report on", &user)
                    }
                })
            })
            .await;
    }
    tasks.finish().await;
    for warning in reader.refusals.warnings() {
        context.events.send(Event::warning(warning)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_only_while_it_costs_fewer_report_requests() {
        assert!(per_user_is_cheaper(1, 200));
        assert!(!per_user_is_cheaper(2, 200));
        assert!(per_user_is_cheaper(201, 200_000));
        assert!(!per_user_is_cheaper(202, 200_000));
        assert!(!per_user_is_cheaper(0, 200_000));
        assert!(!per_user_is_cheaper(MOST_USERS_PER_USER + 1, u64::MAX));
    }
}
