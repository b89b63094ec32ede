//! Reading what the verdict rules need, once per tenant: policies and named locations (the
//! throttle gate's Conditional Access family: one request per second, backoff on its 429s, which
//! carry no `Retry-After`), security defaults, subscribed SKUs, and the members of each group and
//! role a policy references: one membership read per group or role, never one per user.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Mutex;

use super::policy::Policy;
use super::verdict::{GroupInfo, TenantInputs, SECURITY_DEFAULTS_ROLES};
use crate::error::EngineError;
use crate::graph::client::{graph_error, GraphClient, Request};
use crate::graph::throttle::Budget;
use crate::graph::{ApiVersion, Notify};
use crate::ops::report_sources::user_key;

/// Membership reads in flight at once. They spend the directory read budget (a few hundred units
/// against 8,000 per 10 s, paced by the gate), so the limit only keeps a tenant with thousands of
/// referenced groups from opening thousands of requests at once.
const MEMBERSHIP_READS: usize = 32;

/// Entra ID P1 and P2 service plan ids.
const PREMIUM_PLANS: [&str; 2] = ["41781fb2-bc02-4b7c-bd55-b576c07bb09d", "eec0eb4f-6444-4f95-aba0-50c24d67f998"];

/// Reads Graph collections and entities for the migration check.
pub struct Reader {
    pub client: Arc<GraphClient>,
    pub notify: Arc<dyn Notify>,
    /// Requests sent (pages included), for `-Verbose` and the tests' cost checks.
    pub requests: std::sync::atomic::AtomicU64,
}

impl Reader {
    pub fn new(client: Arc<GraphClient>, notify: Arc<dyn Notify>) -> Reader {
        Reader { client, notify, requests: Default::default() }
    }

    /// One GET. `Err` is Graph's refusal in words (status, code, the permission that would help).
    /// `ca_budget`: the request counts against the Conditional Access budget (one per second per
    /// tenant) instead of the directory reads, so its pacing and 429s never hold the user reads.
    async fn get(&self, url: &str, describe: &str, ca_budget: bool, permission: &str) -> Result<Value, ReadFailure> {
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = Request {
            method: Method::GET,
            url: url.to_string(),
            body: None,
            eventual_consistency: false,
            cost: vec![(if ca_budget { Budget::ConditionalAccess } else { Budget::Read }, 1)],
            describe: describe.to_string(),
        };
        let response = self.client.send(&request, self.notify.as_ref()).await.map_err(ReadFailure::Engine)?;
        if response.is_success() {
            return Ok(response.body);
        }
        let (code, message) = graph_error(&response.body);
        if response.status == 401 {
            let request_id = crate::graph::client::request_id(&response.meta, &response.body);
            return Err(ReadFailure::Engine(EngineError::from_graph(
                401,
                code,
                message,
                request_id,
                crate::error::Operation::ListUsers,
                "",
            )));
        }
        Err(ReadFailure::Refused(match response.status {
            403 => format!(
                "Graph refused to {describe} (403 {}): the connection needs {permission}",
                code.unwrap_or_default()
            ),
            404 => format!("{describe}: it does not exist (404)"),
            status => format!(
                "Graph could not {describe} ({status} {}{})",
                code.unwrap_or_default(),
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
        }))
    }

    /// Every item of a collection, following `@odata.nextLink`.
    async fn get_all(
        &self,
        url: String,
        describe: &str,
        ca_budget: bool,
        permission: &str,
        mut each: impl FnMut(Value),
    ) -> Result<(), ReadFailure> {
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let mut body = self.get(&url, describe, ca_budget, permission).await?;
            if let Value::Array(items) = body["value"].take() {
                items.into_iter().for_each(&mut each);
            }
            if let Some(link) = body["@odata.nextLink"].as_str() {
                if !self.client.is_own_origin(link) {
                    return Err(ReadFailure::Refused(
                        "Graph's @odata.nextLink points to another host; the engine will not send the token there"
                            .into(),
                    ));
                }
                next = Some(link.to_string());
            }
        }
        Ok(())
    }

    /// Reads everything the rules need. Only a failure that ends the job (a rejected token, a
    /// cancelled job) is an `Err`; each unreadable input is recorded in the result instead.
    pub async fn tenant_inputs(&self) -> Result<TenantInputs, EngineError> {
        let client = &self.client;
        // The policies (and the named locations they name) are Conditional Access reads, paced
        // at one a second; the security defaults setting and the licences are not: read them
        // meanwhile.
        let policies = async {
            let mut raw_policies = Vec::new();
            let policies_read = self
                .get_all(
                    client.url(ApiVersion::Beta, "/identity/conditionalAccess/policies"),
                    "read the Conditional Access policies",
                    true,
                    "Policy.Read.All",
                    |p| raw_policies.push(p),
                )
                .await;
            // Named locations only give gap sentences their names: read them only when a policy
            // names one (each read costs a second of the CA budget).
            let mut locations = HashMap::new();
            if raw_policies.iter().any(names_a_location) {
                let locations_read = self
                    .get_all(
                        client.url(ApiVersion::Beta, "/identity/conditionalAccess/namedLocations"),
                        "read the named locations",
                        true,
                        "Policy.Read.All",
                        |l| {
                            if let (Some(id), Some(name)) = (l["id"].as_str(), l["displayName"].as_str()) {
                                locations.insert(id.to_ascii_lowercase(), name.to_string());
                            }
                        },
                    )
                    .await;
                if let Err(failure) = &locations_read {
                    failure.stops_the_job()?;
                    self.notify.verbose(format!(
                        "Named locations could not be read ({}); location gaps name their ids instead.",
                        failure.text()
                    ));
                }
            }
            let policies = match policies_read {
                Ok(()) => Ok(raw_policies.iter().map(|p| Policy::analyse(p, &locations)).collect::<Vec<_>>()),
                Err(failure) => {
                    failure.stops_the_job()?;
                    Err(failure.text())
                }
            };
            Ok::<_, EngineError>(policies)
        };
        let security_defaults = async {
            let security_defaults = match self
                .get(
                    &client.url(ApiVersion::V1, "/policies/identitySecurityDefaultsEnforcementPolicy"),
                    "read the security defaults setting",
                    false,
                    "Policy.Read.All",
                )
                .await
            {
                Ok(body) => body["isEnabled"].as_bool().ok_or_else(|| "Graph's answer had no isEnabled".to_string()),
                Err(failure) => {
                    failure.stops_the_job()?;
                    Err(failure.text())
                }
            };
            Ok::<_, EngineError>(security_defaults)
        };
        let (policies, security_defaults, premium) = tokio::try_join!(policies, security_defaults, self.premium())?;
        let mut group_ids: Vec<String> = Vec::new();
        let mut role_ids: Vec<String> = Vec::new();
        if let Ok(policies) = &policies {
            for policy in policies.iter().filter(|p| p.matters()) {
                group_ids.extend(policy.groups().cloned());
                role_ids.extend(policy.roles().cloned());
            }
        }
        if security_defaults == Ok(true) {
            role_ids.extend(SECURITY_DEFAULTS_ROLES.iter().map(|(id, _)| id.to_string()));
        }
        group_ids.sort();
        group_ids.dedup();
        role_ids.sort();
        role_ids.dedup();
        let group_cache = GroupCache::default();
        let cache = &group_cache;
        let groups = stream::iter(group_ids)
            .map(|id| async move {
                let info = self.group(&id, cache).await;
                (id, info)
            })
            .buffer_unordered(MEMBERSHIP_READS)
            .collect::<Vec<(String, Result<GroupInfo, ReadFailure>)>>();
        let roles = stream::iter(role_ids)
            .map(|id| async move {
                let holders = self.role_holders(&id, cache).await;
                (id, holders)
            })
            .buffer_unordered(MEMBERSHIP_READS)
            .collect::<Vec<(String, Result<HashSet<u128>, ReadFailure>)>>();
        let (groups, roles) = tokio::join!(groups, roles);
        let mut inputs =
            TenantInputs { policies, security_defaults, premium, groups: HashMap::new(), roles: HashMap::new() };
        for (id, info) in groups {
            if let Err(failure) = &info {
                failure.stops_the_job()?;
            }
            inputs.groups.insert(id, info.unwrap_or_else(|f| GroupInfo { display_name: None, members: Err(f.text()) }));
        }
        for (id, holders) in roles {
            if let Err(failure) = &holders {
                failure.stops_the_job()?;
            }
            inputs.roles.insert(id, holders.map_err(|f| f.text()));
        }
        Ok(inputs)
    }

    /// `Some(false)` only when `subscribedSkus` answers and lists no Entra ID P1/P2 plan.
    async fn premium(&self) -> Result<Option<bool>, EngineError> {
        let mut premium = false;
        let read = self
            .get_all(
                self.client.url(ApiVersion::V1, "/subscribedSkus"),
                "read the tenant's subscriptions",
                false,
                "LicenseAssignment.Read.All or Organization.Read.All",
                |sku| {
                    let active = sku["capabilityStatus"].as_str().is_some_and(|s| s != "Suspended" && s != "Deleted");
                    let has_plan = sku["servicePlans"].as_array().is_some_and(|plans| {
                        plans.iter().any(|p| {
                            p["servicePlanId"]
                                .as_str()
                                .is_some_and(|id| PREMIUM_PLANS.iter().any(|w| w.eq_ignore_ascii_case(id)))
                        })
                    });
                    premium |= active && has_plan;
                },
            )
            .await;
        match read {
            Ok(()) => Ok(Some(premium)),
            Err(failure) => {
                failure.stops_the_job()?;
                self.notify.verbose(format!(
                    "The tenant's subscriptions could not be read ({}); the check cannot confirm a tenant without Entra ID P1.",
                    failure.text()
                ));
                Ok(None)
            }
        }
    }

    /// A group's display name and transitive user members (nested groups resolved by Graph).
    async fn group(&self, id: &str, cache: &GroupCache) -> Result<GroupInfo, ReadFailure> {
        if let Some(found) = cache.0.lock().await.get(id) {
            return found.clone();
        }
        let segment = utf8_percent_encode(id, NON_ALPHANUMERIC).to_string();
        let describe = format!("read group '{id}'");
        let result = async {
            let body = self
                .get(
                    &self.client.url(ApiVersion::V1, &format!("/groups/{segment}?$select=id,displayName")),
                    &describe,
                    false,
                    "GroupMember.Read.All",
                )
                .await?;
            let display_name = body["displayName"].as_str().map(str::to_string);
            let mut members = HashSet::new();
            self.get_all(
                self.client.url(ApiVersion::V1, &format!("/groups/{segment}/transitiveMembers?$select=id&$top=999")),
                &format!("read the members of group '{}'", display_name.as_deref().unwrap_or(id)),
                false,
                "GroupMember.Read.All",
                |member| {
                    let is_user =
                        member["@odata.type"].as_str().is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"));
                    if let (true, Some(member_id)) = (is_user, member["id"].as_str()) {
                        members.insert(user_key(member_id));
                    }
                },
            )
            .await?;
            Ok::<GroupInfo, ReadFailure>(GroupInfo { display_name, members: Ok(members) })
        }
        .await;
        cache.0.lock().await.insert(id.to_string(), result.clone());
        result
    }

    /// Users holding a role (by template id) through an active, tenant-wide assignment, directly
    /// or through a role-assignable group. Roles scoped to an administrative unit do not count:
    /// Conditional Access ignores them.
    async fn role_holders(&self, template_id: &str, cache: &GroupCache) -> Result<HashSet<u128>, ReadFailure> {
        let filter = utf8_percent_encode(&format!("roleDefinitionId eq '{template_id}'"), NON_ALPHANUMERIC).to_string();
        let mut users = HashSet::new();
        let mut groups = Vec::new();
        self.get_all(
            self.client.url(
                ApiVersion::V1,
                &format!("/roleManagement/directory/roleAssignments?$filter={filter}&$expand=principal"),
            ),
            &format!("read the assignments of {}", super::verdict::role_name(template_id)),
            false,
            "RoleManagement.Read.Directory",
            |assignment| {
                if assignment["directoryScopeId"].as_str().unwrap_or("/") != "/" {
                    return;
                }
                let Some(principal) = assignment["principalId"].as_str() else { return };
                match assignment["principal"]["@odata.type"].as_str() {
                    Some(kind) if kind.eq_ignore_ascii_case("#microsoft.graph.group") => {
                        groups.push(principal.to_string())
                    }
                    _ => {
                        users.insert(user_key(principal));
                    }
                }
            },
        )
        .await?;
        for group in groups {
            let info = self.group(&group, cache).await?;
            match info.members {
                Ok(members) => users.extend(members),
                Err(why) => return Err(ReadFailure::Refused(why)),
            }
        }
        Ok(users)
    }
}

/// True when a policy's location condition names a named location (not `All`, `AllTrusted` or
/// the MFA trusted IPs).
fn names_a_location(policy: &Value) -> bool {
    let locations = &policy["conditions"]["locations"];
    ["includeLocations", "excludeLocations"].iter().any(|key| {
        locations[key].as_array().is_some_and(|ids| {
            ids.iter().filter_map(Value::as_str).any(|id| {
                !id.eq_ignore_ascii_case("All")
                    && !id.eq_ignore_ascii_case("AllTrusted")
                    && id != "00000000-0000-0000-0000-000000000000"
            })
        })
    })
}

/// Groups already read (a role-assignable group may also be named by a policy).
#[derive(Default)]
struct GroupCache(Mutex<HashMap<String, Result<GroupInfo, ReadFailure>>>);

/// Why one input could not be read.
#[derive(Debug, Clone)]
pub enum ReadFailure {
    /// Graph answered with an error (in words).
    Refused(String),
    /// The engine could not go on (transport, token).
    Engine(EngineError),
}

impl ReadFailure {
    pub fn text(&self) -> String {
        match self {
            ReadFailure::Refused(text) => text.clone(),
            ReadFailure::Engine(error) => error.message.clone(),
        }
    }

    /// A rejected token ends the job (every other read would fail the same way).
    fn stops_the_job(&self) -> Result<(), EngineError> {
        match self {
            ReadFailure::Engine(error) if error.kind == crate::error::ErrorKind::Unauthorized => Err(error.clone()),
            _ => Ok(()),
        }
    }
}
