//! The simulated directory: users, their per-user MFA state, lookups. The fixed users are in
//! `fixtures.rs`, the seeded generation of the rest in `generator.rs`, the `$select`-able
//! properties in `properties.rs`.
//!
//! A tenant is immutable except for each user's MFA state and PATCH counter, which are atomics, so
//! readers never take a lock; `POST /_sim/reset` swaps in a freshly generated tenant.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use serde::Serialize;
use serde_json::{json, Value};

use crate::clock;
use crate::rng::SimRng;

mod fixtures;
mod generator;
mod properties;

pub use fixtures::fixture_id;
pub use properties::Property;

/// The tenant's verified domain and its initial `onmicrosoft.com` domain.
pub const DOMAIN: &str = "contoso.com";
pub const INITIAL_DOMAIN: &str = "contoso.onmicrosoft.com";

/// Per-user MFA state, as Graph spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MfaState {
    Disabled = 0,
    Enabled = 1,
    Enforced = 2,
}

impl MfaState {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaState::Disabled => "disabled",
            MfaState::Enabled => "enabled",
            MfaState::Enforced => "enforced",
        }
    }

    /// Exactly Graph's lower-case values; anything else is not a settable state.
    pub fn parse(text: &str) -> Option<MfaState> {
        match text {
            "disabled" => Some(MfaState::Disabled),
            "enabled" => Some(MfaState::Enabled),
            "enforced" => Some(MfaState::Enforced),
            _ => None,
        }
    }

    fn from_u8(value: u8) -> MfaState {
        match value {
            1 => MfaState::Enabled,
            2 => MfaState::Enforced,
            _ => MfaState::Disabled,
        }
    }
}

impl Serialize for MfaState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Member,
    Guest,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Member => "Member",
            UserType::Guest => "Guest",
        }
    }
}

/// Well-known license SKUs (Office 365 E3, Microsoft 365 E3, Microsoft 365 E5, EMS E3, Entra ID P1).
pub const SKUS: [&str; 5] = [
    "6fd2c87f-b296-42f0-b197-1e91e994b900",
    "05e9a617-0261-4cee-bb44-138d3ef5d965",
    "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
    "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
    "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
];

/// One directory user. Fields other than the MFA state and the PATCH counter never change.
/// Kept compact (few heap allocations) so 100,000 users generate quickly even in debug builds.
#[derive(Debug)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub given_name: Option<&'static str>,
    pub surname: Option<&'static str>,
    /// Only when `mail` differs from the UPN (guests); see [`User::mail`].
    external_mail: Option<String>,
    pub user_type: UserType,
    pub account_enabled: bool,
    /// Bit i set: `SKUS[i]` is assigned.
    license_bits: u8,
    /// Unix seconds.
    pub created: i64,
    pub password_changed: i64,
    pub password_policies: Option<&'static str>,
    pub job_title: Option<&'static str>,
    pub department: Option<&'static str>,
    pub office_location: Option<&'static str>,
    pub usage_location: Option<&'static str>,
    pub preferred_language: Option<&'static str>,
    /// Last four digits of `+1 425 555 NNNN` numbers.
    mobile_phone: Option<u16>,
    business_phone: Option<u16>,
    /// Internal: whether the user registered MFA methods. Setting `enabled` on such a user
    /// stores `enforced`, as Graph documents.
    pub has_mfa_methods: bool,
    state: AtomicU8,
    patch_count: AtomicU32,
    /// Report data (sign-ins, registration, methods): see `activity.rs`.
    pub activity: crate::activity::Activity,
}

fn phone(digits: u16) -> String {
    format!("+1 425 555 {digits:04}")
}

impl User {
    pub fn state(&self) -> MfaState {
        MfaState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub fn patch_count(&self) -> u32 {
        self.patch_count.load(Ordering::Relaxed)
    }

    /// Applies a PATCH of `requested` and returns the state actually stored: `enabled` on a user
    /// who already has MFA methods becomes `enforced`. Every call counts as one PATCH.
    pub fn apply_patch(&self, requested: MfaState) -> MfaState {
        let stored =
            if requested == MfaState::Enabled && self.has_mfa_methods { MfaState::Enforced } else { requested };
        self.state.store(stored as u8, Ordering::Relaxed);
        self.patch_count.fetch_add(1, Ordering::Relaxed);
        stored
    }

    pub fn mail(&self) -> &str {
        self.external_mail.as_deref().unwrap_or(&self.user_principal_name)
    }

    /// SKU ids of assigned licenses (empty: unlicensed).
    pub fn licenses(&self) -> impl Iterator<Item = &'static str> + '_ {
        SKUS.iter().enumerate().filter(|(i, _)| self.license_bits & (1 << i) != 0).map(|(_, sku)| *sku)
    }

    pub fn license_count(&self) -> usize {
        self.license_bits.count_ones() as usize
    }

    pub fn is_licensed(&self) -> bool {
        self.license_bits != 0
    }

    pub fn created_date_time(&self) -> String {
        clock::iso_utc(self.created)
    }

    pub fn business_phones(&self) -> Vec<String> {
        self.business_phone.map(phone).into_iter().collect()
    }

    pub fn mobile_phone(&self) -> Option<String> {
        self.mobile_phone.map(phone)
    }

    /// `assignedLicenses` as Graph returns it.
    pub fn assigned_licenses_json(&self) -> Value {
        Value::Array(self.licenses().map(|sku| json!({"disabledPlans": [], "skuId": sku})).collect())
    }

    /// The ground-truth view (`GET /_sim/users`): every field, internal ones included.
    pub fn truth(&self) -> TruthUser<'_> {
        TruthUser {
            id: &self.id,
            user_principal_name: &self.user_principal_name,
            display_name: &self.display_name,
            given_name: self.given_name,
            surname: self.surname,
            mail: self.mail(),
            user_type: self.user_type.as_str(),
            account_enabled: self.account_enabled,
            assigned_licenses: self.licenses().map(|sku| TruthLicense { sku_id: sku, disabled_plans: [] }).collect(),
            created_date_time: self.created_date_time(),
            job_title: self.job_title,
            department: self.department,
            per_user_mfa_state: self.state(),
            has_mfa_methods: self.has_mfa_methods,
            patch_count: self.patch_count(),
            report: crate::activity::truth_json(self, &self.activity),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthLicense<'a> {
    pub sku_id: &'a str,
    pub disabled_plans: [u8; 0],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthUser<'a> {
    pub id: &'a str,
    pub user_principal_name: &'a str,
    pub display_name: &'a str,
    pub given_name: Option<&'a str>,
    pub surname: Option<&'a str>,
    pub mail: &'a str,
    pub user_type: &'static str,
    pub account_enabled: bool,
    pub assigned_licenses: Vec<TruthLicense<'a>>,
    pub created_date_time: String,
    pub job_title: Option<&'static str>,
    pub department: Option<&'static str>,
    pub per_user_mfa_state: MfaState,
    pub has_mfa_methods: bool,
    pub patch_count: u32,
    /// Report columns' ground truth (sign-ins, registration, methods).
    #[serde(flatten)]
    pub report: serde_json::Map<String, Value>,
}

/// A fast non-cryptographic hasher for the tenant's lookup tables (FxHash-style).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word =
                u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        let mut tail = 0u64;
        for (i, b) in chunks.remainder().iter().enumerate() {
            tail |= (*b as u64) << (8 * i);
        }
        self.0 = (self.0.rotate_left(5) ^ tail ^ bytes.len() as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        // Spread the entropy into the low bits too (hashbrown picks buckets with them).
        let mut z = self.0;
        z ^= z >> 33;
        z = z.wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The directory.
#[derive(Debug)]
pub struct Tenant {
    /// Tenant (directory) id, a GUID derived from the seed.
    pub id: String,
    pub seed: u64,
    /// Bumped on every regeneration so old `$skiptoken`s are recognised as expired.
    pub generation: u64,
    pub users: Vec<User>,
    /// When the tenant was generated (Unix seconds, whole minutes): report times count back from it.
    pub anchor: i64,
    /// The sign-in log, newest first (`activity.rs`).
    pub sign_ins: Vec<crate::activity::SignIn>,
    /// Lower-cased object id and user principal name → index in `users`.
    index: FastMap<String, u32>,
    /// Lower-cased user principal names in code-point order, each with its index in `users`: built
    /// on the first range `$count`, so counting a `userPrincipalName` range looks only at the
    /// users in it.
    upn_order: std::sync::OnceLock<Vec<(String, u32)>>,
}

impl Tenant {
    /// Generates `count` users from `seed`. The first (up to) 8 are the fixed fixtures.
    pub fn generate(count: usize, seed: u64, generation: u64) -> Tenant {
        let mut rng = SimRng::new(seed);
        let tenant_id = generator::guid(&mut rng);
        let mut users = Vec::with_capacity(count);
        // Lower-cased UPN (for uniqueness while generating) and object id → position.
        let mut index: FastMap<String, u32> = FastMap::with_capacity_and_hasher(count * 2, Default::default());
        for fixture in fixtures::fixtures().into_iter().take(count) {
            index.insert(fixture.user_principal_name.to_lowercase(), users.len() as u32);
            users.push(fixture);
        }
        let mut names = generator::Names { upns: &mut index, next_suffix: FastMap::default() };
        while users.len() < count {
            let user = generator::generate_user(&mut rng, &mut names, users.len() as u32);
            users.push(user);
        }
        for (position, user) in users.iter().enumerate() {
            index.insert(user.id.to_lowercase(), position as u32);
        }
        let anchor = clock::unix_now() / 60 * 60;
        let (activities, sign_ins) = crate::activity::generate(seed, &users, anchor);
        for (user, activity) in users.iter_mut().zip(activities) {
            user.activity = activity;
        }
        Tenant { id: tenant_id, seed, generation, users, anchor, sign_ins, index, upn_order: Default::default() }
    }

    /// Puts `prefix` in front of every user principal name (and keeps the lookup by UPN right).
    pub fn prefix_upns(&mut self, prefix: &str) {
        for (position, user) in self.users.iter_mut().enumerate() {
            self.index.remove(&user.user_principal_name.to_lowercase());
            user.user_principal_name = format!("{prefix}{}", user.user_principal_name);
            self.index.insert(user.user_principal_name.to_lowercase(), position as u32);
        }
        self.upn_order = Default::default();
    }

    /// The users whose lower-cased user principal name lies within `lower..=upper` (each bound
    /// optional), in UPN order.
    pub fn users_in_upn_range<'a>(
        &'a self,
        lower: Option<&str>,
        upper: Option<&str>,
    ) -> impl Iterator<Item = &'a User> + 'a {
        let order = self.upn_order.get_or_init(|| {
            let mut order: Vec<(String, u32)> =
                self.users.iter().enumerate().map(|(i, u)| (u.user_principal_name.to_lowercase(), i as u32)).collect();
            order.sort_unstable();
            order
        });
        let start = lower.map_or(0, |lower| order.partition_point(|(upn, _)| upn.as_str() < lower));
        let end = upper.map_or(order.len(), |upper| order.partition_point(|(upn, _)| upn.as_str() <= upper));
        order[start..end.max(start)].iter().map(|(_, i)| &self.users[*i as usize])
    }

    /// Finds a user by object id or user principal name (case-insensitive).
    pub fn find(&self, key: &str) -> Option<&User> {
        self.position(key).map(|position| &self.users[position as usize])
    }

    /// The index in `users` of the user with this object id or user principal name.
    pub fn position(&self, key: &str) -> Option<u32> {
        match self.index.get(key) {
            Some(position) => Some(*position),
            None => self.index.get(&key.to_lowercase()).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_upn_range_counts_the_same_users_as_testing_every_user() {
        let mut tenant = Tenant::generate(3000, 5, 1);
        for text in [
            "userPrincipalName ge 'b' and userPrincipalName le 'd'",
            "userPrincipalName ge 'ma' and userPrincipalName le 'mi' and userType eq 'Guest'",
            "userPrincipalName le 'c'",
            "userPrincipalName ge 'z'",
            "userPrincipalName eq 'adele.vance@contoso.com'",
        ] {
            let filter = crate::odata::Filter::parse(text).unwrap();
            let (lower, upper) = filter.upn_bounds().unwrap();
            let by_range = tenant.users_in_upn_range(lower, upper).filter(|u| filter.matches(u)).count();
            let by_scan = tenant.users.iter().filter(|u| filter.matches(u)).count();
            assert_eq!(by_range, by_scan, "{text}");
            assert!(by_scan > 0 || text.contains("ge 'z'"), "{text} matches some users");
        }
        // Prefixing UPNs builds the order again.
        tenant.prefix_upns("zz-");
        let filter =
            crate::odata::Filter::parse("userPrincipalName ge 'zz-a' and userPrincipalName le 'zz-c'").unwrap();
        let (lower, upper) = filter.upn_bounds().unwrap();
        let by_range = tenant.users_in_upn_range(lower, upper).filter(|u| filter.matches(u)).count();
        assert_eq!(by_range, tenant.users.iter().filter(|u| filter.matches(u)).count());
        assert!(by_range > 0);
    }

    #[test]
    fn lookup_by_id_and_upn_is_case_insensitive() {
        let t = Tenant::generate(20, 1, 0);
        assert!(t.find("ADELE.VANCE@CONTOSO.COM").is_some());
        assert!(t.find("ZOË.ÅSTRÖM@contoso.com").is_some());
        assert!(t.find("00000000-0000-4000-8000-000000000007").is_some());
        assert!(t.find("megan.bowen_fabrikam.com#ext#@contoso.onmicrosoft.com").is_some());
        assert!(t.find("nobody@contoso.com").is_none());
    }

    #[test]
    fn enabled_becomes_enforced_with_methods() {
        let t = Tenant::generate(8, 1, 0);
        let diego = t.find("diego.siciliani@contoso.com").unwrap();
        assert_eq!(diego.apply_patch(MfaState::Enabled), MfaState::Enforced);
        let miriam = t.find("miriam.o'brien@contoso.com").unwrap();
        assert_eq!(miriam.apply_patch(MfaState::Enabled), MfaState::Enabled);
        assert_eq!(miriam.patch_count(), 1);
    }
}
