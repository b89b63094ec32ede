//! The tenant summary written after the verdicts (information stream): counts per verdict,
//! security defaults, the policies that require MFA, and tenant-wide gaps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::policy::PolicyState;
use super::verdict::{TenantInputs, VerdictKind};

/// Verdict counts, shared by the tasks that produce verdicts, and the time spent judging.
#[derive(Default)]
pub struct Tally {
    counts: [AtomicU64; 4],
    analysis_nanos: AtomicU64,
}

impl Tally {
    pub fn add(&self, verdict: VerdictKind) {
        self.counts[verdict as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds the time one verdict took (judging and its event's JSON: synchronous code, so the wall
    /// time measured around it is an upper bound of its CPU time).
    pub fn add_analysis(&self, took: Duration) {
        self.analysis_nanos.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The -Verbose line on the analysis: how many accounts, how long the verdicts took in all.
    pub fn analysis_line(&self) -> String {
        let judged: u64 = VerdictKind::ALL.iter().map(|v| self.count(*v)).sum();
        let seconds = self.analysis_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        format!(
            "Analysis: {judged} accounts judged in {seconds:.3} s (verdicts and their events, summed over workers)."
        )
    }

    pub fn count(&self, verdict: VerdictKind) -> u64 {
        self.counts[verdict as usize].load(Ordering::Relaxed)
    }
}

/// Warnings about inputs that could not be read (each once, before the verdicts).
pub fn input_warnings(inputs: &TenantInputs) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Err(why) = &inputs.policies {
        warnings.push(format!(
            "The Conditional Access policies could not be read ({why}); verdicts that depend on them are Unknown."
        ));
    }
    if let Err(why) = &inputs.security_defaults {
        warnings.push(format!("The security defaults setting could not be read ({why})."));
    }
    let mut unreadable: Vec<String> = inputs
        .groups
        .iter()
        .filter_map(|(id, info)| info.members.as_ref().err().map(|why| format!("group '{id}': {why}")))
        .chain(inputs.roles.iter().filter_map(|(id, holders)| {
            holders.as_ref().err().map(|why| format!("{}: {why}", super::verdict::role_name(id)))
        }))
        .collect();
    unreadable.sort();
    if !unreadable.is_empty() {
        warnings.push(format!(
            "Some memberships could not be read, so verdicts that depend on them are Unknown: {}.",
            unreadable.join("; ")
        ));
    }
    warnings
}

/// The tenant-wide gaps (also used by the report section).
pub fn tenant_gaps(inputs: &TenantInputs) -> Vec<String> {
    let mut gaps = Vec::new();
    let security_defaults = inputs.security_defaults == Ok(true);
    if let Ok(policies) = &inputs.policies {
        if !security_defaults && !policies.iter().any(|p| p.blocks_legacy_auth) {
            gaps.push(
                "No enabled policy blocks legacy authentication: legacy clients (IMAP, POP, SMTP, Exchange ActiveSync) of Enforced users then keep working with a password alone."
                    .to_string(),
            );
        }
        let managed: Vec<String> = policies
            .iter()
            .filter(|p| p.microsoft_managed && p.state != PolicyState::Disabled)
            .map(|p| format!("'{}'", p.display_name))
            .collect();
        if !managed.is_empty() {
            gaps.push(format!("Microsoft-managed policies in play: {}.", managed.join(", ")));
        }
    }
    gaps
}

/// The summary text. Export-PerUserMfaReport reads it back (`MigrationRuns.cs`): the first line
/// starts with "Migration readiness:", each tenant-wide gap is one line starting with
/// "Tenant-wide gap: ", every other line is shown as a fact. Keep those two prefixes.
pub fn render(inputs: &TenantInputs, tally: &Tally) -> String {
    let mut lines = Vec::new();
    let counts: Vec<String> = VerdictKind::ALL.iter().map(|v| format!("{} {}", tally.count(*v), v.as_str())).collect();
    lines.push(format!("Migration readiness: {}.", counts.join(", ")));
    lines.push(match &inputs.security_defaults {
        Ok(true) => "Security defaults: on (Conditional Access policies are not in force).".to_string(),
        Ok(false) => "Security defaults: off.".to_string(),
        Err(why) => format!("Security defaults: could not be read ({why})."),
    });
    if inputs.premium == Some(false) {
        lines.push("Licence: no Entra ID P1 or P2 (Conditional Access is not enforced).".to_string());
    }
    if let Ok(policies) = &inputs.policies {
        let names = |state: PolicyState| -> String {
            let names: Vec<String> = policies
                .iter()
                .filter(|p| p.requires_mfa && p.state == state)
                .map(|p| format!("'{}'", p.display_name))
                .collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        lines.push(format!("Policies that require MFA (enabled): {}.", names(PolicyState::Enabled)));
        lines.push(format!("Policies that require MFA (report-only): {}.", names(PolicyState::ReportOnly)));
    }
    for gap in tenant_gaps(inputs) {
        lines.push(format!("Tenant-wide gap: {gap}"));
    }
    lines.join("\n")
}
