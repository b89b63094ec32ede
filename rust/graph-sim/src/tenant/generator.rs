//! Deterministic generation of the users after the fixtures: names, kinds, licences, MFA states
//! and dates drawn from the tenant's SplitMix64 stream (same seed, same tenant, on every platform).

use std::sync::atomic::{AtomicU32, AtomicU8};

use super::{FastMap, MfaState, User, UserType, DOMAIN, INITIAL_DOMAIN};
use crate::rng::SimRng;

/// The latest instant a generated tenant's dates (account creation, password change) may take:
/// 2025-12-01T00:00:00Z, so every generated date lies in the past whenever the simulator runs.
const GENERATION_EPOCH: i64 = 1_764_547_200;

pub(super) fn guid(rng: &mut SimRng) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

const FIRST_NAMES: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Amara",
    "Ana",
    "Anders",
    "Ava",
    "Ben",
    "Bianca",
    "Björn",
    "Carlos",
    "Chloé",
    "Christie",
    "Dana",
    "Daniel",
    "Elena",
    "Emily",
    "Enrico",
    "Fatima",
    "François",
    "Grady",
    "Hana",
    "Henrietta",
    "Irvin",
    "Isaiah",
    "Jakob",
    "José",
    "Joni",
    "Jürgen",
    "Kai",
    "Keiko",
    "Lars",
    "Lidia",
    "Lynne",
    "Łukasz",
    "Maria",
    "Mateo",
    "Megan",
    "Mei",
    "Miriam",
    "Nestor",
    "Noah",
    "Núria",
    "Olga",
    "Omar",
    "Patti",
    "Pradeep",
    "Priya",
    "Quinn",
    "Raul",
    "Renée",
    "Sakura",
    "Sean",
    "Siobhán",
    "Søren",
    "Tomás",
    "Umar",
    "Valeria",
    "Wei",
    "Yuki",
    "Zoë",
    "Åsa",
];

const LAST_NAMES: &[&str] = &[
    "Adams",
    "Åström",
    "Bauer",
    "Bowen",
    "Brown",
    "Chen",
    "D'Angelo",
    "D'Souza",
    "Dvořák",
    "Fernández",
    "García",
    "Gu",
    "Hansen",
    "Ito",
    "Jensen",
    "Johnson",
    "Kim",
    "Kowalczyk",
    "Lambert",
    "Lee",
    "Lorenz",
    "Martin",
    "Mendoza",
    "Müller",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Núñez",
    "O'Brien",
    "O'Connor",
    "O'Neil",
    "Øberg",
    "Patel",
    "Petrov",
    "Qureshi",
    "Rossi",
    "Sánchez",
    "Schröder",
    "Silva",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Thompson",
    "Vance",
    "Wagner",
    "Wilber",
    "Williams",
    "Yamada",
    "Zhang",
    "Çelik",
];

const PARTNER_DOMAINS: &[&str] =
    &["fabrikam.com", "northwindtraders.com", "tailspintoys.com", "wingtiptoys.com", "gmail.com", "outlook.com"];

const JOB_TITLES: &[&str] = &[
    "Accountant",
    "Administrative Assistant",
    "Designer",
    "Developer",
    "Director",
    "Engineer",
    "HR Manager",
    "Marketing Assistant",
    "Product Manager",
    "Project Manager",
    "Sales Representative",
    "Support Engineer",
];

const DEPARTMENTS: &[&str] = &["Engineering", "Finance", "HR", "Legal", "Marketing", "Operations", "Sales", "Support"];

const OFFICES: &[&str] = &["Building 1", "Building 2", "Building 4", "Remote", "18/2111", "131/1104"];

const LOCATIONS: &[(&str, &str)] = &[
    ("US", "en-US"),
    ("GB", "en-GB"),
    ("DE", "de-DE"),
    ("FR", "fr-FR"),
    ("ES", "es-ES"),
    ("SE", "sv-SE"),
    ("JP", "ja-JP"),
];

fn pick<T: Copy>(rng: &mut SimRng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

fn local_part(first: &str, last: &str) -> String {
    let mut out = String::with_capacity(first.len() + last.len() + 1);
    out.extend(first.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase));
    out.push('.');
    out.extend(last.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase));
    out
}

/// Uniqueness bookkeeping while generating.
pub(super) struct Names<'a> {
    /// Lower-cased UPN → position (becomes part of the tenant's index).
    pub(super) upns: &'a mut FastMap<String, u32>,
    /// Lower-cased `make("")` → the next numeric suffix to try, so duplicates cost O(1).
    pub(super) next_suffix: FastMap<String, u32>,
}

impl Names<'_> {
    /// The first of `make("")`, `make("2")`, `make("3")`, ... not yet taken (case-insensitively);
    /// records it for `position`.
    pub(super) fn unique(&mut self, position: u32, make: impl Fn(&str) -> String) -> String {
        use std::collections::hash_map::Entry;
        let base = make("");
        let base_key = base.to_lowercase();
        let mut n = self.next_suffix.get(&base_key).copied().unwrap_or(2);
        match self.upns.entry(base_key.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(position);
                return base;
            }
            Entry::Occupied(_) => {}
        }
        loop {
            let candidate = make(&n.to_string());
            n += 1;
            if let Entry::Vacant(slot) = self.upns.entry(candidate.to_lowercase()) {
                slot.insert(position);
                self.next_suffix.insert(base_key, n);
                return candidate;
            }
        }
    }
}

pub(super) fn generate_user(rng: &mut SimRng, names: &mut Names<'_>, position: u32) -> User {
    let id = guid(rng);
    let first = pick(rng, FIRST_NAMES);
    let last = pick(rng, LAST_NAMES);
    let local = local_part(first, last);
    let kind = rng.below32(100);
    // 10% guests, 8% unlicensed members, 5% disabled members, 77% licensed members.
    let (user_type, licensed, account_enabled) = match kind {
        0..=9 => (UserType::Guest, rng.below32(10) == 0, rng.below32(30) != 0),
        10..=17 => (UserType::Member, false, true),
        18..=22 => (UserType::Member, rng.below32(10) < 6, false),
        _ => (UserType::Member, true, true),
    };
    let roll = rng.below32(100);
    let state = match roll {
        0..=69 => MfaState::Disabled,
        70..=84 => MfaState::Enabled,
        _ => MfaState::Enforced,
    };
    let methods_roll = rng.below32(100);
    let has_mfa_methods = match state {
        MfaState::Enforced => methods_roll < 90,
        MfaState::Enabled => methods_roll < 25,
        MfaState::Disabled => methods_roll < 40,
    };
    let created = 1_451_606_400 + rng.below(300_000_000) as i64;
    // Passwords change after the account exists and never later than the generation epoch, so a
    // generated tenant never holds a date in the future (ages must never come out negative).
    let password_changed = created + rng.below(60_000_000.min((GENERATION_EPOCH - created) as u64)) as i64;
    let (upn, external_mail, given_name, surname) = match user_type {
        UserType::Guest => {
            let domain = pick(rng, PARTNER_DOMAINS);
            let upn = names.unique(position, |n| format!("{local}{n}_{domain}#EXT#@{INITIAL_DOMAIN}"));
            let at = upn.find('_').unwrap_or(local.len());
            let mail = format!("{}@{domain}", &upn[..at]);
            (upn, Some(mail), None, None)
        }
        UserType::Member => {
            let upn = names.unique(position, |n| format!("{local}{n}@{DOMAIN}"));
            (upn, None, Some(first), Some(last))
        }
    };
    let license_bits = if licensed {
        let mut bits = 1u8 << rng.below32(3);
        if rng.below32(4) == 0 {
            bits |= 1 << (3 + rng.below32(2));
        }
        bits
    } else {
        0
    };
    let member = user_type == UserType::Member;
    let (usage_location, language) = pick(rng, LOCATIONS);
    User {
        id,
        user_principal_name: upn,
        display_name: format!("{first} {last}"),
        given_name,
        surname,
        external_mail,
        user_type,
        account_enabled,
        license_bits,
        created,
        password_changed,
        password_policies: if rng.below32(10) == 0 { Some("DisablePasswordExpiration") } else { None },
        job_title: if member { Some(pick(rng, JOB_TITLES)) } else { None },
        department: if member { Some(pick(rng, DEPARTMENTS)) } else { None },
        office_location: if member { Some(pick(rng, OFFICES)) } else { None },
        usage_location: if member { Some(usage_location) } else { None },
        preferred_language: if member { Some(language) } else { None },
        mobile_phone: if member && rng.below32(3) == 0 { Some(rng.below32(10_000) as u16) } else { None },
        business_phone: if member { Some(rng.below32(10_000) as u16) } else { None },
        has_mfa_methods,
        state: AtomicU8::new(state as u8),
        patch_count: AtomicU32::new(0),
        activity: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MfaState, Tenant, User, UserType};

    use std::collections::HashSet;

    #[test]
    fn generation_is_deterministic_and_unique() {
        let a = Tenant::generate(3_000, 42, 0);
        let b = Tenant::generate(3_000, 42, 0);
        let c = Tenant::generate(3_000, 43, 0);
        assert_eq!(a.id, b.id);
        for (x, y) in a.users.iter().zip(&b.users) {
            assert_eq!(x.id, y.id);
            assert_eq!(x.user_principal_name, y.user_principal_name);
            assert_eq!(x.state(), y.state());
        }
        assert_ne!(a.users[100].id, c.users[100].id);
        let upns: HashSet<String> = a.users.iter().map(|u| u.user_principal_name.to_lowercase()).collect();
        assert_eq!(upns.len(), a.users.len());
        let ids: HashSet<&str> = a.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids.len(), a.users.len());
    }

    #[test]
    fn distribution_is_roughly_as_documented() {
        let t = Tenant::generate(20_000, 1, 0);
        let n = t.users.len() as f64;
        let share = |f: &dyn Fn(&User) -> bool| t.users.iter().filter(|u| f(u)).count() as f64 / n;
        let guests = share(&|u| u.user_type == UserType::Guest);
        let licensed_members = share(&|u| u.user_type == UserType::Member && u.is_licensed());
        let disabled_accounts = share(&|u| !u.account_enabled);
        let state_disabled = share(&|u| u.state() == MfaState::Disabled);
        let enforced = share(&|u| u.state() == MfaState::Enforced);
        assert!((0.08..0.12).contains(&guests), "{guests}");
        assert!((0.72..0.84).contains(&licensed_members), "{licensed_members}");
        assert!((0.04..0.08).contains(&disabled_accounts), "{disabled_accounts}");
        assert!((0.66..0.74).contains(&state_disabled), "{state_disabled}");
        assert!((0.12..0.18).contains(&enforced), "{enforced}");
        assert!(t.users.iter().any(|u| !u.user_principal_name.is_ascii()));
        assert!(t.users.iter().skip(8).any(|u| u.user_principal_name.contains('\'')));
    }
}
