//! The verdict rules for one user, from inputs read once per tenant ([`TenantInputs`]): who is
//! in scope of which policy (rule 2), full or partial (rule 3, worked out per policy in
//! `policy.rs`), and the verdict (rule 4). No Graph call happens here, and nothing here allocates
//! per policy unless the policy concerns the user: 100,000 users against 50 policies took 2.4 s
//! of analysis in the release build (BENCHMARKS.md, "Migration readiness at 100,000 users").

use std::collections::{HashMap, HashSet};

use super::policy::{Assignment, Policy, PolicyState};

pub type UserKey = u128;

/// The roles security defaults challenge at every sign-in (Microsoft's list on the security
/// defaults page): template id and display name.
pub const SECURITY_DEFAULTS_ROLES: [(&str, &str); 16] = [
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
    ("c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator"),
    ("b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator"),
    ("158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator"),
    ("b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator"),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"),
    ("966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator"),
    ("7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Privileged Authentication Administrator"),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator"),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator"),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("0526716b-113d-4c15-b2c8-68e3c22b9f80", "Authentication Policy Administrator"),
    ("45d8d3c5-c802-45c6-b32a-1d70b5e1e86e", "Identity Governance Administrator"),
];

/// A role's display name for messages: a known admin role's name, else its template id.
pub fn role_name(template_id: &str) -> String {
    SECURITY_DEFAULTS_ROLES
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(template_id))
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| format!("role {template_id}"))
}

/// The members of a group or the holders of a role, or why they could not be read.
pub type Members = Result<HashSet<UserKey>, String>;

/// A referenced group: display name (when readable) and transitive user members.
#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub display_name: Option<String>,
    pub members: Members,
}

/// Everything the rules need, read once per tenant.
#[derive(Debug)]
pub struct TenantInputs {
    /// Analysed policies, or why they could not be read.
    pub policies: Result<Vec<Policy>, String>,
    /// Security defaults on, or why the setting could not be read.
    pub security_defaults: Result<bool, String>,
    /// Entra ID P1/P2 present: `Some(false)` only when `subscribedSkus` confirms it is not.
    pub premium: Option<bool>,
    /// Referenced groups by lower-cased id.
    pub groups: HashMap<String, GroupInfo>,
    /// Referenced roles (and, with security defaults on, the admin roles) by lower-cased template id.
    pub roles: HashMap<String, Members>,
}

/// One user as the rules see them.
#[derive(Debug, Clone, Copy)]
pub struct UserFacts<'a> {
    pub key: UserKey,
    /// Object id, lower-cased.
    pub id: &'a str,
    pub user_type: Option<&'a str>,
    pub user_principal_name: Option<&'a str>,
}

impl UserFacts<'_> {
    /// The `guestOrExternalUserTypes` flag this user matches (lower-cased), if any.
    fn guest_type(&self) -> Option<&'static str> {
        let external = self.user_principal_name.is_some_and(|upn| upn.to_ascii_lowercase().contains("#ext#"));
        let guest = self.user_type.is_some_and(|t| t.eq_ignore_ascii_case("Guest"));
        match (guest, external) {
            (true, true) => Some("b2bcollaborationguest"),
            (true, false) => Some("internalguest"),
            (false, true) => Some("b2bcollaborationmember"),
            (false, false) => None,
        }
    }
}

/// The verdict for one user (rule 4), before sign-in evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub verdict: VerdictKind,
    pub covered_by: Vec<String>,
    pub report_only: Vec<String>,
    pub gaps: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VerdictKind {
    Covered,
    PartiallyCovered,
    NotCovered,
    Unknown,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Covered => "Covered",
            VerdictKind::PartiallyCovered => "PartiallyCovered",
            VerdictKind::NotCovered => "NotCovered",
            VerdictKind::Unknown => "Unknown",
        }
    }

    pub const ALL: [VerdictKind; 4] =
        [VerdictKind::Covered, VerdictKind::PartiallyCovered, VerdictKind::NotCovered, VerdictKind::Unknown];
}

/// Whether one side of an assignment names the user.
enum Side {
    Yes(String),
    No,
    Unknown(String),
}

/// Where the user stands with one policy.
enum Scope {
    In,
    Out,
    /// Included, but an exclusion wins (how, in words).
    Excluded(String),
    /// Could not be decided (why).
    Uncertain(String),
}

impl TenantInputs {
    fn side(&self, assignment: &Assignment, user: &UserFacts, is_exclude: bool) -> Side {
        if assignment.all {
            return Side::Yes("as one of all users".into());
        }
        if assignment.users.iter().any(|u| u == user.id) {
            return Side::Yes("by name".into());
        }
        let guest_type = user.guest_type();
        if assignment.all_guests && guest_type.is_some() {
            return Side::Yes("as a guest or external user".into());
        }
        if let (Some(spec), Some(kind)) = (&assignment.guests, guest_type) {
            // Home tenants are not read: an enumerated tenant list includes nobody (it might not
            // be theirs) and excludes everybody of a listed type (it might be theirs).
            if spec.types.iter().any(|t| t == kind) && (is_exclude || !spec.enumerated_tenants) {
                return Side::Yes("as a guest or external user".into());
            }
        }
        let mut unknown = None;
        for group in &assignment.groups {
            match self.groups.get(group) {
                Some(GroupInfo { display_name, members: Ok(members) }) => {
                    if members.contains(&user.key) {
                        let name = display_name.clone().unwrap_or_else(|| group.clone());
                        return Side::Yes(format!("through group '{name}'"));
                    }
                }
                Some(GroupInfo { members: Err(why), .. }) => unknown = Some(why.clone()),
                None => unknown = Some(format!("the members of group '{group}' were not read")),
            }
        }
        for role in &assignment.roles {
            match self.roles.get(role) {
                Some(Ok(holders)) => {
                    if holders.contains(&user.key) {
                        return Side::Yes(format!("through role '{}'", role_name(role)));
                    }
                }
                Some(Err(why)) => unknown = Some(why.clone()),
                None => unknown = Some(format!("the holders of {} were not read", role_name(role))),
            }
        }
        match unknown {
            Some(why) => Side::Unknown(why),
            None => Side::No,
        }
    }

    fn scope(&self, policy: &Policy, user: &UserFacts) -> Scope {
        let include = self.side(&policy.include, user, false);
        let exclude = self.side(&policy.exclude, user, true);
        match (include, exclude) {
            (Side::Yes(_), Side::Yes(how)) => Scope::Excluded(how),
            (_, Side::Yes(_)) | (Side::No, _) => Scope::Out,
            (Side::Yes(_), Side::No) => Scope::In,
            (Side::Yes(_), Side::Unknown(why)) | (Side::Unknown(why), _) => Scope::Uncertain(why),
        }
    }

    /// Rule 4 for one user.
    pub fn verdict(&self, user: &UserFacts) -> Verdict {
        let security_defaults = match &self.security_defaults {
            Ok(on) => Some(*on),
            // An enabled CA policy proves security defaults are off: Graph refuses to enable
            // one while they are on.
            Err(_) if self.policies.as_ref().is_ok_and(|p| p.iter().any(|p| p.state == PolicyState::Enabled)) => {
                Some(false)
            }
            Err(_) => None,
        };
        let mut report_only = Vec::new();
        if let Ok(policies) = &self.policies {
            for policy in policies.iter().filter(|p| p.matters() && p.state == PolicyState::ReportOnly) {
                if matches!(self.scope(policy, user), Scope::In) {
                    report_only.push(policy.display_name.clone());
                }
            }
        }
        let verdict = |kind: VerdictKind, covered_by: Vec<String>, gaps: Vec<String>, reason: String| Verdict {
            verdict: kind,
            covered_by,
            report_only: report_only.clone(),
            gaps,
            reason,
        };
        match security_defaults {
            None => {
                let reason = match (&self.policies, &self.security_defaults) {
                    (Err(why), _) => format!("The Conditional Access policies could not be read ({why})."),
                    (_, Err(why)) => format!("Whether security defaults are on could not be read ({why})."),
                    _ => String::new(),
                };
                return verdict(VerdictKind::Unknown, vec![], vec![], reason);
            }
            Some(true) => return self.security_defaults_verdict(user, verdict),
            Some(false) => {}
        }
        if self.premium == Some(false) {
            return verdict(
                VerdictKind::NotCovered,
                vec![],
                vec![],
                "The tenant has no Entra ID P1 or P2 licence, so Conditional Access is not enforced, and security defaults are off.".into(),
            );
        }
        let policies = match &self.policies {
            Ok(policies) => policies,
            Err(why) => {
                return verdict(
                    VerdictKind::Unknown,
                    vec![],
                    vec![],
                    format!("The Conditional Access policies could not be read ({why})."),
                )
            }
        };
        let (mut full, mut partial, mut gaps, mut uncertain) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut managed_only = None;
        for policy in policies.iter().filter(|p| p.matters() && p.state == PolicyState::Enabled) {
            match self.scope(policy, user) {
                Scope::In if policy.managed_per_user => managed_only = Some(policy.display_name.clone()),
                Scope::In if policy.gaps.is_empty() => full.push(policy.display_name.clone()),
                Scope::In => {
                    partial.push(policy.display_name.clone());
                    gaps.extend(policy.gaps.iter().cloned());
                }
                Scope::Excluded(how) => gaps.push(format!("Excluded from '{}' {how}", policy.display_name)),
                Scope::Uncertain(why) => uncertain.push((policy.display_name.clone(), why)),
                Scope::Out => {}
            }
        }
        let mut covered_by = full.clone();
        covered_by.extend(partial.iter().cloned());
        if !full.is_empty() {
            let reason = format!("'{}' requires MFA at every sign-in of this account.", full[0]);
            return verdict(VerdictKind::Covered, covered_by, vec![], reason);
        }
        if let Some((name, why)) = uncertain.first() {
            return verdict(
                VerdictKind::Unknown,
                covered_by,
                gaps,
                format!("Whether '{name}' applies to this account could not be decided: {why}."),
            );
        }
        if !partial.is_empty() {
            if let Some(managed) = &managed_only {
                gaps.push(format!(
                    "'{managed}' may stop applying once per-user MFA is off (its scope then is not documented)"
                ));
            }
            let reason = format!(
                "Only policies with conditions require MFA ({}): some sign-ins of this account would need no MFA.",
                partial.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")
            );
            return verdict(VerdictKind::PartiallyCovered, covered_by, gaps, reason);
        }
        if let Some(managed) = managed_only {
            return verdict(
                VerdictKind::Unknown,
                vec![managed.clone()],
                gaps,
                format!(
                    "Only '{managed}' requires MFA for this account, and which accounts it covers once per-user MFA is off is not documented."
                ),
            );
        }
        let reason = if report_only.is_empty() {
            "No enabled Conditional Access policy requires MFA for this account, and security defaults are off."
                .to_string()
        } else {
            "No enabled Conditional Access policy requires MFA for this account (report-only policies would), and security defaults are off.".to_string()
        };
        verdict(VerdictKind::NotCovered, vec![], gaps, reason)
    }

    fn security_defaults_verdict(
        &self,
        user: &UserFacts,
        verdict: impl Fn(VerdictKind, Vec<String>, Vec<String>, String) -> Verdict,
    ) -> Verdict {
        let mut unreadable = None;
        for (id, name) in SECURITY_DEFAULTS_ROLES {
            match self.roles.get(id) {
                Some(Ok(holders)) if holders.contains(&user.key) => {
                    return verdict(
                        VerdictKind::Covered,
                        vec!["Security defaults".into()],
                        vec![],
                        format!("Security defaults require MFA at every sign-in of accounts holding '{name}'."),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(why)) => unreadable = Some(why.clone()),
                None => unreadable = Some(format!("the holders of '{name}' were not read")),
            }
        }
        if let Some(why) = unreadable {
            return verdict(
                VerdictKind::Unknown,
                vec![],
                vec![],
                format!(
                    "Security defaults are on, but whether this account holds an admin role could not be read ({why})."
                ),
            );
        }
        verdict(
            VerdictKind::PartiallyCovered,
            vec!["Security defaults".into()],
            vec![SECURITY_DEFAULTS_GAP.into()],
            "Security defaults are on; they ask accounts without an admin role for MFA only when Microsoft decides it is needed.".into(),
        )
    }
}

pub const SECURITY_DEFAULTS_GAP: &str =
    "Security defaults ask this account for MFA only when Microsoft's risk logic decides (and always for Azure management)";
