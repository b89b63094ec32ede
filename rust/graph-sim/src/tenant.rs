//! The simulated directory: users, their per-user MFA state, and how they are generated
//! deterministically from a seed.
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

/// The tenant's verified domain and its initial `onmicrosoft.com` domain.
pub const DOMAIN: &str = "contoso.com";
pub const INITIAL_DOMAIN: &str = "contoso.onmicrosoft.com";
/// The latest instant a generated tenant's dates (account creation, password change) may take:
/// 2025-12-01T00:00:00Z, so every generated date lies in the past whenever the simulator runs.
const GENERATION_EPOCH: i64 = 1_764_547_200;

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

/// User properties the simulator knows, for `$select` and default projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    Id,
    UserPrincipalName,
    DisplayName,
    GivenName,
    Surname,
    Mail,
    JobTitle,
    BusinessPhones,
    MobilePhone,
    OfficeLocation,
    PreferredLanguage,
    UserType,
    AccountEnabled,
    AssignedLicenses,
    CreatedDateTime,
    Department,
    UsageLocation,
    LastPasswordChangeDateTime,
    PasswordPolicies,
    CompanyName,
    EmployeeId,
    OnPremisesSyncEnabled,
    ExternalUserState,
    /// Not a real user property in Graph's schema: the simulator's stand-in for a bulk way to
    /// read the state. Returned only when selected, and only with `bulkState` and a Policy permission.
    PerUserMfaState,
    /// `signInActivity` (needs AuditLog.Read.All and a premium tenant; pages of at most 500).
    SignInActivity,
    SignInSessionsValidFromDateTime,
}

impl Property {
    pub const ALL: [Property; 26] = [
        Property::Id,
        Property::UserPrincipalName,
        Property::DisplayName,
        Property::GivenName,
        Property::Surname,
        Property::Mail,
        Property::JobTitle,
        Property::BusinessPhones,
        Property::MobilePhone,
        Property::OfficeLocation,
        Property::PreferredLanguage,
        Property::UserType,
        Property::AccountEnabled,
        Property::AssignedLicenses,
        Property::CreatedDateTime,
        Property::Department,
        Property::UsageLocation,
        Property::LastPasswordChangeDateTime,
        Property::PasswordPolicies,
        Property::CompanyName,
        Property::EmployeeId,
        Property::OnPremisesSyncEnabled,
        Property::ExternalUserState,
        Property::PerUserMfaState,
        Property::SignInActivity,
        Property::SignInSessionsValidFromDateTime,
    ];

    /// Graph's default projection of a user on v1.0.
    pub const DEFAULT_V1: [Property; 11] = [
        Property::BusinessPhones,
        Property::DisplayName,
        Property::GivenName,
        Property::JobTitle,
        Property::Mail,
        Property::MobilePhone,
        Property::OfficeLocation,
        Property::PreferredLanguage,
        Property::Surname,
        Property::UserPrincipalName,
        Property::Id,
    ];

    /// The beta endpoint returns a wider default projection.
    pub const DEFAULT_BETA: [Property; 18] = [
        Property::Id,
        Property::AccountEnabled,
        Property::AssignedLicenses,
        Property::BusinessPhones,
        Property::CompanyName,
        Property::CreatedDateTime,
        Property::Department,
        Property::DisplayName,
        Property::GivenName,
        Property::JobTitle,
        Property::Mail,
        Property::MobilePhone,
        Property::OfficeLocation,
        Property::PreferredLanguage,
        Property::Surname,
        Property::UsageLocation,
        Property::UserPrincipalName,
        Property::UserType,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::Id => "id",
            Property::UserPrincipalName => "userPrincipalName",
            Property::DisplayName => "displayName",
            Property::GivenName => "givenName",
            Property::Surname => "surname",
            Property::Mail => "mail",
            Property::JobTitle => "jobTitle",
            Property::BusinessPhones => "businessPhones",
            Property::MobilePhone => "mobilePhone",
            Property::OfficeLocation => "officeLocation",
            Property::PreferredLanguage => "preferredLanguage",
            Property::UserType => "userType",
            Property::AccountEnabled => "accountEnabled",
            Property::AssignedLicenses => "assignedLicenses",
            Property::CreatedDateTime => "createdDateTime",
            Property::Department => "department",
            Property::UsageLocation => "usageLocation",
            Property::LastPasswordChangeDateTime => "lastPasswordChangeDateTime",
            Property::PasswordPolicies => "passwordPolicies",
            Property::CompanyName => "companyName",
            Property::EmployeeId => "employeeId",
            Property::OnPremisesSyncEnabled => "onPremisesSyncEnabled",
            Property::ExternalUserState => "externalUserState",
            Property::PerUserMfaState => "perUserMfaState",
            Property::SignInActivity => "signInActivity",
            Property::SignInSessionsValidFromDateTime => "signInSessionsValidFromDateTime",
        }
    }

    /// Case-insensitive lookup, as Graph matches `$select` names.
    pub fn lookup(name: &str) -> Option<Property> {
        Property::ALL.iter().copied().find(|p| p.name().eq_ignore_ascii_case(name))
    }

    pub fn value(self, user: &User) -> Value {
        fn opt(value: Option<&str>) -> Value {
            value.map(|v| Value::String(v.to_owned())).unwrap_or(Value::Null)
        }
        match self {
            Property::Id => Value::String(user.id.clone()),
            Property::UserPrincipalName => Value::String(user.user_principal_name.clone()),
            Property::DisplayName => Value::String(user.display_name.clone()),
            Property::GivenName => opt(user.given_name),
            Property::Surname => opt(user.surname),
            Property::Mail => Value::String(user.mail().to_owned()),
            Property::JobTitle => opt(user.job_title),
            Property::BusinessPhones => json!(user.business_phones()),
            Property::MobilePhone => opt(user.mobile_phone().as_deref()),
            Property::OfficeLocation => opt(user.office_location),
            Property::PreferredLanguage => opt(user.preferred_language),
            Property::UserType => Value::String(user.user_type.as_str().to_owned()),
            Property::AccountEnabled => Value::Bool(user.account_enabled),
            Property::AssignedLicenses => user.assigned_licenses_json(),
            Property::CreatedDateTime => Value::String(user.created_date_time()),
            Property::Department => opt(user.department),
            Property::UsageLocation => opt(user.usage_location),
            Property::LastPasswordChangeDateTime => Value::String(clock::iso_utc(user.password_changed)),
            Property::PasswordPolicies => opt(user.password_policies),
            Property::CompanyName => Value::Null,
            Property::EmployeeId => Value::Null,
            Property::OnPremisesSyncEnabled => Value::Null,
            Property::ExternalUserState => match user.user_type {
                UserType::Guest => Value::String("Accepted".into()),
                UserType::Member => Value::Null,
            },
            Property::PerUserMfaState => Value::String(user.state().as_str().to_owned()),
            Property::SignInActivity => crate::activity::sign_in_activity_json(&user.activity),
            Property::SignInSessionsValidFromDateTime => {
                Value::String(clock::iso_utc(user.activity.sessions_valid_from))
            }
        }
    }
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

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

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
}

impl Tenant {
    /// Generates `count` users from `seed`. The first (up to) 8 are the fixed fixtures.
    pub fn generate(count: usize, seed: u64, generation: u64) -> Tenant {
        let mut rng = SimRng::new(seed);
        let tenant_id = guid(&mut rng);
        let mut users = Vec::with_capacity(count);
        // Lower-cased UPN (for uniqueness while generating) and object id → position.
        let mut index: FastMap<String, u32> = FastMap::with_capacity_and_hasher(count * 2, Default::default());
        for fixture in fixtures().into_iter().take(count) {
            index.insert(fixture.user_principal_name.to_lowercase(), users.len() as u32);
            users.push(fixture);
        }
        let mut names = Names { upns: &mut index, next_suffix: FastMap::default() };
        while users.len() < count {
            let user = generate_user(&mut rng, &mut names, users.len() as u32);
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
        Tenant { id: tenant_id, seed, generation, users, anchor, sign_ins, index }
    }

    /// Finds a user by object id or user principal name (case-insensitive).
    pub fn find(&self, key: &str) -> Option<&User> {
        let direct = self.index.get(key);
        let found = match direct {
            Some(position) => Some(*position),
            None => self.index.get(&key.to_lowercase()).copied(),
        };
        found.map(|position| &self.users[position as usize])
    }
}

fn guid(rng: &mut SimRng) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// The fixture id `00000000-0000-4000-8000-00000000000N`.
pub fn fixture_id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

struct Fixture {
    upn: &'static str,
    display: &'static str,
    given: Option<&'static str>,
    surname: Option<&'static str>,
    mail: Option<&'static str>,
    guest: bool,
    licensed: bool,
    enabled: bool,
    state: MfaState,
    methods: bool,
    job: Option<&'static str>,
}

fn fixtures() -> Vec<User> {
    let list = [
        Fixture {
            upn: "adele.vance@contoso.com",
            display: "Adele Vance",
            given: Some("Adele"),
            surname: Some("Vance"),
            mail: None,
            guest: false,
            licensed: true,
            enabled: true,
            state: MfaState::Enabled,
            methods: false,
            job: Some("Retail Manager"),
        },
        Fixture {
            upn: "alex.wilber@contoso.com",
            display: "Alex Wilber",
            given: Some("Alex"),
            surname: Some("Wilber"),
            mail: None,
            guest: false,
            licensed: true,
            enabled: true,
            state: MfaState::Enforced,
            methods: true,
            job: Some("Marketing Assistant"),
        },
        Fixture {
            upn: "diego.siciliani@contoso.com",
            display: "Diego Siciliani",
            given: Some("Diego"),
            surname: Some("Siciliani"),
            mail: None,
            guest: false,
            licensed: true,
            enabled: true,
            state: MfaState::Disabled,
            methods: true,
            job: Some("HR Manager"),
        },
        Fixture {
            upn: "miriam.o'brien@contoso.com",
            display: "Miriam O'Brien",
            given: Some("Miriam"),
            surname: Some("O'Brien"),
            mail: None,
            guest: false,
            licensed: true,
            enabled: true,
            state: MfaState::Disabled,
            methods: false,
            job: Some("Director"),
        },
        Fixture {
            upn: "zoë.åström@contoso.com",
            display: "Zoë Åström",
            given: Some("Zoë"),
            surname: Some("Åström"),
            mail: None,
            guest: false,
            licensed: true,
            enabled: true,
            state: MfaState::Enabled,
            methods: false,
            job: Some("Designer"),
        },
        Fixture {
            upn: "megan.bowen_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            display: "Megan Bowen (Fabrikam)",
            given: None,
            surname: None,
            mail: Some("megan.bowen@fabrikam.com"),
            guest: true,
            licensed: false,
            enabled: true,
            state: MfaState::Disabled,
            methods: false,
            job: None,
        },
        Fixture {
            upn: "lee.gu@contoso.com",
            display: "Lee Gu",
            given: Some("Lee"),
            surname: Some("Gu"),
            mail: None,
            guest: false,
            licensed: false,
            enabled: true,
            state: MfaState::Enforced,
            methods: true,
            job: Some("Director"),
        },
        Fixture {
            upn: "johanna.lorenz@contoso.com",
            display: "<script>alert(1)</script>",
            given: Some("Johanna"),
            surname: Some("Lorenz"),
            mail: None,
            guest: false,
            licensed: true,
            enabled: false,
            state: MfaState::Enabled,
            methods: false,
            job: Some("Senior Engineer"),
        },
    ];
    list.into_iter()
        .enumerate()
        .map(|(i, f)| User {
            id: fixture_id(i as u32 + 1),
            user_principal_name: f.upn.to_owned(),
            display_name: f.display.to_owned(),
            given_name: f.given,
            surname: f.surname,
            external_mail: f.mail.map(str::to_owned),
            user_type: if f.guest { UserType::Guest } else { UserType::Member },
            account_enabled: f.enabled,
            license_bits: if f.licensed { 0b10 } else { 0 },
            created: 1_577_836_800 + i as i64 * 86_400 * 3 + 3_600 * 9,
            password_changed: 1_700_000_000 + i as i64 * 86_400,
            password_policies: None,
            job_title: f.job,
            department: if f.guest { None } else { Some("Operations") },
            office_location: if f.guest { None } else { Some("Building 1") },
            usage_location: if f.guest { None } else { Some("US") },
            preferred_language: if f.guest { None } else { Some("en-US") },
            mobile_phone: None,
            business_phone: if f.guest { None } else { Some(101 + i as u16) },
            has_mfa_methods: f.methods,
            state: AtomicU8::new(f.state as u8),
            patch_count: AtomicU32::new(0),
            activity: Default::default(),
        })
        .collect()
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
struct Names<'a> {
    /// Lower-cased UPN → position (becomes part of the tenant's index).
    upns: &'a mut FastMap<String, u32>,
    /// Lower-cased `make("")` → the next numeric suffix to try, so duplicates cost O(1).
    next_suffix: FastMap<String, u32>,
}

impl Names<'_> {
    /// The first of `make("")`, `make("2")`, `make("3")`, ... not yet taken (case-insensitively);
    /// records it for `position`.
    fn unique(&mut self, position: u32, make: impl Fn(&str) -> String) -> String {
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

fn generate_user(rng: &mut SimRng, names: &mut Names<'_>, position: u32) -> User {
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
    use super::*;

    #[test]
    fn fixtures_come_first_in_order() {
        let tenant = Tenant::generate(50, 7, 0);
        let ids: Vec<&str> = tenant.users.iter().take(8).map(|u| u.id.as_str()).collect();
        assert_eq!(ids[0], "00000000-0000-4000-8000-000000000001");
        assert_eq!(ids[7], "00000000-0000-4000-8000-000000000008");
        assert_eq!(tenant.users[4].user_principal_name, "zoë.åström@contoso.com");
        assert_eq!(tenant.users[5].user_type, UserType::Guest);
        assert!(!tenant.users[7].account_enabled);
        assert_eq!(tenant.users[2].state(), MfaState::Disabled);
        assert!(tenant.users[2].has_mfa_methods);
    }

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
