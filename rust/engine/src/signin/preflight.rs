//! The pre-flight check: before a job sends anything, compare the permissions in the token
//! (`roles` for an app, `scp` for a delegated sign-in) with what the job needs, and tell the admin
//! up front which permission is missing and how to consent. Graph stays the judge: the job still
//! runs, and a user Graph refuses still gets the per-user 403 error. An opaque (non-JWT) token is
//! not checked.

use crate::options::{JobRequest, Scope};
use crate::signin::claims::{Claims, PermissionType};

/// What a job needs from Graph, and the permissions that allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    ListUsers,
    ReadUsers,
    ReadStates,
    ChangeStates,
    /// The detailed report (registered methods, sign-in activity): a later operation.
    ReadReport,
    /// Migration readiness: Conditional Access policies, named locations, security defaults.
    ReadPolicies,
    /// Migration readiness: members of the groups policies name.
    ReadGroupMembers,
    /// Migration readiness: holders of the roles policies name.
    ReadRoles,
    /// Migration readiness: the tenant's subscriptions (Entra ID P1/P2 or not).
    ReadLicences,
    /// Migration readiness with `-IncludeSignIns`: the sign-in logs.
    ReadSignIns,
}

impl Need {
    /// Any one of these is enough (for `ReadReport`: see [`Need::all_of`]).
    pub fn any_of(self) -> &'static [&'static str] {
        match self {
            Need::ListUsers | Need::ReadUsers => {
                &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
            }
            Need::ReadStates => &["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"],
            Need::ChangeStates => &["Policy.ReadWrite.AuthenticationMethod"],
            Need::ReadReport => &[],
            Need::ReadPolicies => &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"],
            Need::ReadGroupMembers => &["GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"],
            Need::ReadRoles => &["RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All"],
            Need::ReadLicences => &["LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All"],
            Need::ReadSignIns => &["AuditLog.Read.All", "Directory.Read.All"],
        }
    }

    /// Permissions that are all needed (the report reads two sources).
    pub fn all_of(self) -> &'static [&'static str] {
        match self {
            Need::ReadReport => &["AuditLog.Read.All", "UserAuthenticationMethod.Read.All"],
            _ => &[],
        }
    }

    /// The permission to ask for when none is there: the least privileged one.
    fn suggested(self) -> &'static str {
        match self {
            Need::ListUsers | Need::ReadUsers => "User.Read.All",
            Need::ReadStates => "Policy.Read.All",
            Need::ChangeStates => "Policy.ReadWrite.AuthenticationMethod",
            Need::ReadReport => "AuditLog.Read.All",
            Need::ReadPolicies => "Policy.Read.All",
            Need::ReadGroupMembers => "GroupMember.Read.All",
            Need::ReadRoles => "RoleManagement.Read.Directory",
            Need::ReadLicences => "LicenseAssignment.Read.All",
            Need::ReadSignIns => "AuditLog.Read.All",
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            Need::ListUsers => "list the tenant's users",
            Need::ReadUsers => "look up the users you name",
            Need::ReadStates => "read per-user MFA states",
            Need::ChangeStates => "change per-user MFA states",
            Need::ReadReport => "read registered methods and sign-in activity",
            Need::ReadPolicies => {
                "read the Conditional Access policies and security defaults (without it every verdict is Unknown)"
            }
            Need::ReadGroupMembers => {
                "read the members of groups the policies name (without it verdicts that depend on them are Unknown)"
            }
            Need::ReadRoles => {
                "read who holds the roles the policies name (without it verdicts that depend on them are Unknown)"
            }
            Need::ReadLicences => {
                "confirm whether the tenant has Entra ID P1 (without it a Free tenant cannot be told apart)"
            }
            Need::ReadSignIns => {
                "read the sign-in logs for -IncludeSignIns (without it the sign-in columns stay empty and every verdict \
                 comes from the policies alone)"
            }
        }
    }
}

/// What `request` needs.
pub fn needs(request: &JobRequest) -> Vec<Need> {
    match request {
        JobRequest::GetStates { scope, report, .. } => {
            let wanted = vec![if *scope == Scope::Input { Need::ReadUsers } else { Need::ListUsers }, Need::ReadStates];
            // -Detailed: the report op warns about its sources itself once Graph has answered
            // (ops/report.rs): ONE warning per missing permission, naming the columns it would fill, and
            // UserAuthenticationMethod.Read.All only with -IncludeMethodDetails. Warning here as well
            // would say it twice.
            let _ = report;
            wanted
        }
        JobRequest::PlanChanges { .. } => vec![Need::ReadUsers, Need::ReadStates],
        JobRequest::ApplyChanges { .. } => vec![Need::ChangeStates],
        // Reads only the journal file, or the session's throttle gate: no Graph call.
        JobRequest::ReadJournal { .. } | JobRequest::EstimateWrites { .. } => Vec::new(),
        JobRequest::TestMigration { scope, include_sign_ins, .. } => {
            let mut wanted = vec![
                if *scope == crate::ops::MigrationScope::Input { Need::ReadUsers } else { Need::ListUsers },
                Need::ReadStates,
                Need::ReadPolicies,
                Need::ReadGroupMembers,
                Need::ReadRoles,
                Need::ReadLicences,
            ];
            if *include_sign_ins {
                wanted.push(Need::ReadSignIns);
            }
            wanted
        }
    }
}

/// The permissions `claims` lack for `wanted`, each with why it is needed.
pub fn missing(claims: &Claims, wanted: &[Need]) -> Vec<(String, Need)> {
    let mut out: Vec<(String, Need)> = Vec::new();
    for &need in wanted {
        let any = need.any_of();
        if !any.is_empty() && !claims.has_any(any) {
            let name = if any.len() > 1 {
                format!("{} (or {})", need.suggested(), any[1..].join(", "))
            } else {
                any[0].to_string()
            };
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, need));
            }
        }
        for permission in need.all_of() {
            if !claims.has_any(&[permission]) {
                out.push((permission.to_string(), need));
            }
        }
    }
    out
}

/// Whether the token's claims show it cannot read any per-user MFA state for `request`: then Graph
/// refuses every user the same way, and the first 403 confirms it (an opaque token: never).
pub fn cannot_read_states(token: &str, request: &JobRequest) -> bool {
    let Some(claims) = Claims::decode(token) else {
        return false;
    };
    needs(request).contains(&Need::ReadStates) && !claims.has_any(Need::ReadStates.any_of())
}

/// Whether the pre-flight warning already named `need`: the token's claims lack it (an opaque
/// token: never). A later 403 for the same cause then needs no second warning.
pub fn named(token: &str, need: Need) -> bool {
    Claims::decode(token).is_some_and(|claims| !claims.has_any(need.any_of()))
}

/// The warning for a job, or None when the token has what it needs or cannot be read.
pub fn warning(token: &str, request: &JobRequest) -> Option<String> {
    let claims = Claims::decode(token)?;
    let gaps = missing(&claims, &needs(request));
    if gaps.is_empty() {
        return None;
    }
    let kind = claims.permission_type();
    let list = gaps.iter().map(|(name, need)| format!("{name} to {}", need.purpose())).collect::<Vec<_>>().join("; ");
    let has = if claims.permissions().is_empty() {
        match kind {
            PermissionType::Application => {
                "no application permissions at all (admin consent may be missing)".to_string()
            }
            PermissionType::Delegated => "no delegated scopes".to_string(),
        }
    } else {
        claims.permissions().join(", ")
    };
    let first = gaps.first().map(|(_, need)| need.suggested()).unwrap_or("Policy.Read.All");
    let scopes = gaps.iter().map(|(_, need)| need.suggested()).collect::<Vec<_>>().join(",");
    let how = match kind {
        PermissionType::Application => format!(
            "For an app registration: Entra admin center > App registrations > (the app) > API permissions > Add a \
             permission > Microsoft Graph > Application permissions > {first}, then Grant admin consent. For a managed \
             identity: New-MgServicePrincipalAppRoleAssignment for its service principal. Then run Connect-PerUserMfa again."
        ),
        PermissionType::Delegated => format!(
            "Sign in again with the scopes, for example Connect-MgGraph -Scopes {scopes}, then Connect-PerUserMfa \
             again; a delegated sign-in also needs a directory role such as Global Reader (reading) or \
             Authentication Policy Administrator (changing)."
        ),
    };
    Some(format!(
        "The token of this connection lacks {} permission: {list}. Graph will refuse those requests with 403 \
         (Forbidden). The token has {has}. {how}",
        kind.as_str().to_lowercase(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::claims::test_jwt;
    use serde_json::json;

    fn get(scope: Scope) -> JobRequest {
        let scope = match scope {
            Scope::Input => "input",
            Scope::All => "all",
            Scope::LicensedMembers => "licensedMembers",
        };
        JobRequest::parse(&format!(r#"{{"operation":"getStates","scope":"{scope}"}}"#)).unwrap()
    }

    fn set() -> JobRequest {
        JobRequest::parse(r#"{"operation":"applyChanges","journalPath":"/j.jsonl","journalOperation":"set"}"#).unwrap()
    }

    #[test]
    fn only_a_token_without_any_read_permission_cannot_read_states() {
        let users_only = test_jwt(&json!({"roles": ["User.Read.All"]}));
        let readers = test_jwt(&json!({"roles": ["User.Read.All", "Policy.Read.All"]}));
        let plan = JobRequest::parse(r#"{"operation":"planChanges","state":"enforced"}"#).unwrap();
        assert!(cannot_read_states(&users_only, &get(Scope::All)));
        assert!(cannot_read_states(&users_only, &get(Scope::Input)));
        assert!(cannot_read_states(&users_only, &plan));
        assert!(!cannot_read_states(&readers, &get(Scope::All)));
        assert!(!cannot_read_states("an-opaque-token", &get(Scope::All)));
        // Applying changes reads nothing first: its 403s are judged per user.
        let apply =
            JobRequest::parse(r#"{"operation":"applyChanges","journalPath":"/tmp/x.jsonl","journalOperation":"set"}"#)
                .unwrap();
        assert!(!cannot_read_states(&users_only, &apply));
    }

    #[test]
    fn a_token_with_what_the_job_needs_gets_no_warning() {
        let token = test_jwt(&json!({"roles": ["User.Read.All", "Policy.Read.All"]}));
        assert_eq!(warning(&token, &get(Scope::LicensedMembers)), None);
        assert_eq!(warning(&token, &get(Scope::Input)), None);
        let old_guidance = test_jwt(&json!({"roles": ["Directory.Read.All", "Policy.ReadWrite.AuthenticationMethod"]}));
        assert_eq!(warning(&old_guidance, &get(Scope::All)), None);
        assert_eq!(warning(&old_guidance, &set()), None);
    }

    #[test]
    fn changing_without_the_write_permission_names_it_and_how_to_consent() {
        let token = test_jwt(&json!({"roles": ["User.Read.All", "Policy.Read.All"]}));
        let text = warning(&token, &set()).unwrap();
        assert!(text.contains("Policy.ReadWrite.AuthenticationMethod to change per-user MFA states"), "{text}");
        assert!(text.contains("Grant admin consent"));
        assert!(text.contains("The token has User.Read.All, Policy.Read.All."));
        assert!(!text.contains("User.Read.All to"));
    }

    #[test]
    fn an_unconsented_app_is_told_so() {
        let token = test_jwt(&json!({"appid": "a", "idtyp": "app"}));
        let text = warning(&token, &get(Scope::LicensedMembers)).unwrap();
        assert!(text.contains("User.Read.All (or User.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All) to list the tenant's users"), "{text}");
        assert!(text.contains("Policy.Read.All (or Policy.ReadWrite.AuthenticationMethod) to read per-user MFA states"));
        assert!(text.contains("no application permissions at all"));
    }

    #[test]
    fn delegated_tokens_get_connect_mggraph_advice() {
        let token = test_jwt(&json!({"scp": "User.Read.All", "upn": "a@b"}));
        let text = warning(&token, &get(Scope::Input)).unwrap();
        assert!(text.contains("lacks delegated permission"));
        assert!(text.contains("Connect-MgGraph -Scopes Policy.Read.All"), "{text}");
    }

    #[test]
    fn opaque_tokens_and_jobs_without_graph_calls_are_not_checked() {
        assert_eq!(warning("opaque-token", &set()), None);
        let token = test_jwt(&json!({"roles": []}));
        assert_eq!(warning(&token, &JobRequest::ReadJournal { path: "/j".into(), tenant_id: None }), None);
    }

    #[test]
    fn the_detailed_report_leaves_its_source_warnings_to_the_report_op() {
        // ops/report.rs warns once per permission Graph refused, naming the columns; the
        // methods permission matters only with -IncludeMethodDetails.
        let token = test_jwt(&json!({"roles": ["User.Read.All", "Policy.Read.All"]}));
        let report = JobRequest::parse(r#"{"operation":"getStates","scope":"all","report":{}}"#).unwrap();
        assert_eq!(warning(&token, &report), None);
    }

    #[test]
    fn the_report_needs_both_permissions() {
        let claims = Claims::decode(&test_jwt(&json!({"roles": ["AuditLog.Read.All"]}))).unwrap();
        let gaps = missing(&claims, &[Need::ReadReport]);
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].0, "UserAuthenticationMethod.Read.All");
    }
}
