//! `Set-PerUserMfaState -State Disabled -RequireCoverage`: per-user MFA is turned off only for
//! users whose migration verdict is `Covered`. The tenant's Conditional Access set-up is read
//! once per job (the migration check's reader: one membership read per referenced group or role),
//! and each user's verdict is worked out from memory. The plan decides with it (so the prompt
//! shows the split) and the apply step decides again, from a fresh read, right before the
//! changes (the prompt may have waited while someone edited a policy).

use std::sync::Arc;

use super::migration::read::Reader;
use super::migration::verdict::{TenantInputs, UserFacts, VerdictKind};
use super::report_sources::user_key;
use crate::bulk::{Action, ChangeItem};
use crate::error::{EngineError, ErrorKind};
use crate::job::JobContext;

/// What a coverage check reads of a user besides the state.
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,userType";

/// The tenant's inputs, read once for a job.
pub struct Coverage {
    inputs: Arc<TenantInputs>,
}

/// One user's verdict, as a run that requires coverage records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVerdict {
    pub covered: bool,
    /// `Covered`, `PartiallyCovered`, `NotCovered` or `Unknown`.
    pub verdict: &'static str,
    pub reason: String,
}

impl Coverage {
    /// Reads the Conditional Access set-up. An input that cannot be read for want of a permission
    /// ends the job before anything is changed, naming the permission: without it no verdict can
    /// be trusted. (A referenced group that no longer exists only makes its users `Unknown`.)
    pub async fn read(context: &JobContext) -> Result<Coverage, EngineError> {
        let reader = Reader::new(context.client.clone(), context.notify());
        let inputs = reader.tenant_inputs().await?;
        if let Some(why) = unreadable(&inputs) {
            return Err(EngineError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "-RequireCoverage needs the tenant's Conditional Access set-up to tell who stays covered, and {why}. \
                     Nobody was changed. Grant the permission (Get-Help Test-PerUserMfaMigration lists what the check \
                     reads), connect again and run the command again."
                ),
            ));
        }
        Ok(Coverage { inputs: Arc::new(inputs) })
    }

    /// Rule 4 for one user (`id` is the object id).
    pub fn verdict(&self, id: &str, user_principal_name: Option<&str>, user_type: Option<&str>) -> UserVerdict {
        let lower_id = id.to_ascii_lowercase();
        let facts = UserFacts { key: user_key(id), id: &lower_id, user_type, user_principal_name };
        let verdict = self.inputs.verdict(&facts);
        UserVerdict {
            covered: verdict.verdict == VerdictKind::Covered,
            verdict: verdict.verdict.as_str(),
            reason: verdict.reason,
        }
    }

    /// Records `item`'s verdict in it; a change for a user who is not `Covered` becomes
    /// [`Action::NotCovered`]. Other actions send nothing, so they stay as they are.
    pub fn judge(&self, item: &mut ChangeItem, action: Action) -> Action {
        if action != Action::Change {
            return action;
        }
        let found = self.verdict(&item.id, item.user_principal_name.as_deref(), item.user_type.as_deref());
        item.verdict = Some(found.verdict.to_string());
        item.verdict_reason = Some(found.reason);
        if found.covered {
            Action::Change
        } else {
            Action::NotCovered
        }
    }
}

/// The user's error when a run that requires coverage leaves them alone.
pub fn not_covered_error(target: &str, verdict: &str, reason: &str) -> EngineError {
    EngineError::new(ErrorKind::NotCovered, not_covered_message(target, verdict, reason))
}

/// `'a@contoso.com' is PartiallyCovered, so -RequireCoverage leaves per-user MFA as it is: <reason>`
pub fn not_covered_message(target: &str, verdict: &str, reason: &str) -> String {
    let shown = crate::error::shown(target);
    format!(
        "'{shown}' is {verdict}, so -RequireCoverage leaves per-user MFA as it is: {reason} \
         Test-PerUserMfaMigration -UserId '{}' shows the gaps.",
        shown.replace('\'', "''")
    )
}

/// Why the inputs cannot be trusted, when a permission kept one from being read: the policies,
/// the security defaults setting (unless an enabled policy shows it is off), the subscriptions, or
/// a group's or role's members refused with a 403.
fn unreadable(inputs: &TenantInputs) -> Option<String> {
    if let Err(why) = &inputs.policies {
        return Some(why.clone());
    }
    let enabled_policy = inputs
        .policies
        .as_ref()
        .is_ok_and(|p| p.iter().any(|p| p.state == super::migration::policy::PolicyState::Enabled));
    if let (Err(why), false) = (&inputs.security_defaults, enabled_policy) {
        return Some(why.clone());
    }
    if inputs.premium.is_none() {
        return Some(
            "the tenant's subscriptions could not be read (so a tenant without Entra ID P1, where Conditional Access \
             is not enforced, cannot be ruled out): the connection needs LicenseAssignment.Read.All or \
             Organization.Read.All"
                .into(),
        );
    }
    let refused = |why: &String| why.contains("(403");
    let groups = inputs.groups.values().filter_map(|g| g.members.as_ref().err());
    let roles = inputs.roles.values().filter_map(|r| r.as_ref().err());
    groups.chain(roles).find(|why| refused(why)).cloned()
}
