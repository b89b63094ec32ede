//! Report data: sign-in activity, the sign-in log, authentication-method registration and the
//! methods themselves, generated deterministically for each user.
//!
//! Drawn from a separate SplitMix64 stream per user (seeded from the tenant seed and the user's
//! position), so adding this data left every existing tenant identical. Times are relative to the
//! tenant's `anchor` (the minute the tenant was generated): sign-in logs cover the last 29 days, so
//! a 30-day window started a little later still holds all of them.

use serde_json::{json, Map, Value};

use crate::ca::sign_ins::SignInShape;
use crate::clock;
use crate::rng::SimRng;
use crate::routes::ApiVersion;
use crate::tenant::{MfaState, User, UserType};

const DAY: i64 = 86_400;

/// Registered method kinds (bit flags).
pub const PHONE: u8 = 1;
pub const EMAIL: u8 = 2;
pub const AUTHENTICATOR: u8 = 4;
pub const FIDO2: u8 = 8;
pub const SOFTWARE_OATH: u8 = 16;
pub const HELLO: u8 = 32;
pub const TAP: u8 = 64;

/// One user's report data.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub last_sign_in: Option<i64>,
    pub last_non_interactive: Option<i64>,
    pub last_successful: Option<i64>,
    /// Latest successful sign-in that required MFA (within the log's retention).
    pub last_mfa_sign_in: Option<i64>,
    pub sessions_valid_from: i64,
    pub is_admin: bool,
    pub mfa_capable: bool,
    pub methods: u8,
    /// Seeds the details of the methods (numbers, device names).
    pub detail_seed: u64,
}

/// One sign-in log entry. The log is kept newest first.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub time: i64,
    pub user: u32,
    pub sequence: u32,
    pub error_code: u32,
    pub mfa: bool,
    /// `user`, `multiConditionalAccess`, `securityDefaults` (MFA) or empty (single factor).
    pub provider: &'static str,
    pub interactive: bool,
    /// The scenario's stated sign-in this entry is (`ca::sign_ins`), by index.
    pub stated: Option<u32>,
}

/// Generates every user's activity and the tenant's sign-in log (newest first).
pub fn generate(seed: u64, users: &[User], anchor: i64) -> (Vec<Activity>, Vec<SignIn>) {
    let mut activities = Vec::with_capacity(users.len());
    let mut log = Vec::with_capacity(users.len() * 2);
    let mut sequence = 0u32;
    for (position, user) in users.iter().enumerate() {
        let mut rng = SimRng::for_user(seed, position as u64, 0x51_671a);
        let mut activity = Activity { detail_seed: rng.next_u64(), ..Activity::default() };
        // Methods: a user with MFA methods has at least one strong method.
        if user.has_mfa_methods {
            loop {
                if rng.chance(70) {
                    activity.methods |= AUTHENTICATOR;
                }
                if rng.chance(50) {
                    activity.methods |= PHONE;
                }
                if rng.chance(10) {
                    activity.methods |= FIDO2;
                }
                if rng.chance(10) {
                    activity.methods |= SOFTWARE_OATH;
                }
                if rng.chance(15) && user.user_type == UserType::Member {
                    activity.methods |= HELLO;
                }
                if activity.methods != 0 {
                    break;
                }
            }
            if rng.chance(30) {
                activity.methods |= EMAIL;
            }
            if rng.chance(3) {
                activity.methods |= TAP;
            }
            activity.mfa_capable = rng.chance(90);
        } else if rng.chance(20) {
            activity.methods |= EMAIL;
        }
        activity.is_admin = user.user_type == UserType::Member && rng.chance(4);

        // The sign-in log (last 29 days) for enabled accounts.
        let count = if user.account_enabled { rng.below(6) } else { 0 };
        let mut latest_any = None::<i64>;
        let mut latest_success = None::<i64>;
        let mut latest_mfa = None::<i64>;
        for _ in 0..count {
            let time = anchor - 60 - rng.below((29 * DAY) as u64) as i64;
            let success = rng.chance(85);
            let state = user.state();
            let per_user = matches!(state, MfaState::Enforced) || (state == MfaState::Enabled && user.has_mfa_methods);
            let (mfa, provider) = if per_user {
                (true, "user")
            } else if rng.chance(35) {
                (true, if rng.chance(15) { "securityDefaults" } else { "multiConditionalAccess" })
            } else {
                (false, "")
            };
            let error_code = if success {
                0
            } else if mfa {
                50074
            } else {
                [50126, 50140, 50053][rng.below(3) as usize]
            };
            sequence += 1;
            log.push(SignIn {
                time,
                user: position as u32,
                sequence,
                error_code,
                mfa,
                provider,
                interactive: true,
                stated: None,
            });
            latest_any = latest_any.max(Some(time));
            if success {
                latest_success = latest_success.max(Some(time));
                if mfa {
                    latest_mfa = latest_mfa.max(Some(time));
                }
            }
        }
        // Older activity, beyond the log's retention (or never signed in).
        let older = if rng.chance(85) { Some(anchor - 30 * DAY - rng.below((400 * DAY) as u64) as i64) } else { None };
        activity.last_successful = latest_success.or(older);
        activity.last_sign_in = latest_any.max(activity.last_successful);
        activity.last_non_interactive = activity.last_sign_in.map(|t| t - rng.below(DAY as u64) as i64);
        activity.last_mfa_sign_in = latest_mfa;
        activity.sessions_valid_from = user.password_changed.max(user.created) + rng.below(DAY as u64) as i64;
        activities.push(activity);
    }
    log.sort_by(|a, b| b.time.cmp(&a.time).then(b.sequence.cmp(&a.sequence)));
    (activities, log)
}

fn iso(time: Option<i64>) -> Value {
    time.map(|t| Value::String(clock::iso_utc(t))).unwrap_or(Value::Null)
}

/// A version-4-shaped GUID from two numbers. `b`'s low 48 bits fill the first six bytes, which the
/// version and variant bits leave alone, so GUIDs with the same `a` and different `b` (below
/// 2^48, e.g. a sequence number) never collide; `a` fills the rest.
fn guid_from(a: u64, b: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&b.to_le_bytes()[..6]);
    bytes[6..8].copy_from_slice(&(b >> 48).to_le_bytes()[..2]);
    bytes[8..].copy_from_slice(&a.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// `signInActivity` as Graph returns it on a user.
pub fn sign_in_activity_json(activity: &Activity) -> Value {
    let request_id =
        |t: Option<i64>| t.map(|t| Value::String(guid_from(t as u64, activity.detail_seed))).unwrap_or(Value::Null);
    json!({
        "lastSignInDateTime": iso(activity.last_sign_in),
        "lastSignInRequestId": request_id(activity.last_sign_in),
        "lastNonInteractiveSignInDateTime": iso(activity.last_non_interactive),
        "lastNonInteractiveSignInRequestId": request_id(activity.last_non_interactive),
        "lastSuccessfulSignInDateTime": iso(activity.last_successful),
        "lastSuccessfulSignInRequestId": request_id(activity.last_successful),
    })
}

/// `methodsRegistered` values of the registration report, in a fixed order.
pub fn methods_registered(activity: &Activity) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (flag, name) in [
        (AUTHENTICATOR, "microsoftAuthenticatorPush"),
        (PHONE, "mobilePhone"),
        (EMAIL, "email"),
        (FIDO2, "fido2SecurityKey"),
        (SOFTWARE_OATH, "softwareOneTimePasscode"),
        (HELLO, "windowsHelloForBusiness"),
        (TAP, "temporaryAccessPass"),
    ] {
        if activity.methods & flag != 0 {
            out.push(name);
        }
        if flag == SOFTWARE_OATH && has_hardware_oath(activity) {
            out.push("hardwareOneTimePasscode");
        }
    }
    out
}

pub fn is_mfa_registered(activity: &Activity) -> bool {
    activity.methods & (PHONE | AUTHENTICATOR | FIDO2 | SOFTWARE_OATH | HELLO) != 0
}

/// A method a user can be asked for as a second factor, by its two names in the reports.
struct SecondFactor {
    flag: u8,
    /// The `defaultMfaMethod` value.
    default_method: &'static str,
    /// The `userPreferredMethodForSecondaryAuthentication` value.
    preferred_secondary: &'static str,
}

/// Second factors in the order the simulator prefers them: both report columns name the first
/// one a user registered, so they always agree.
static SECOND_FACTORS: [SecondFactor; 3] = [
    SecondFactor { flag: AUTHENTICATOR, default_method: "microsoftAuthenticatorPush", preferred_secondary: "push" },
    SecondFactor { flag: PHONE, default_method: "mobilePhone", preferred_secondary: "sms" },
    SecondFactor { flag: SOFTWARE_OATH, default_method: "softwareOneTimePasscode", preferred_secondary: "oath" },
];

fn preferred_second_factor(activity: &Activity) -> Option<&'static SecondFactor> {
    SECOND_FACTORS.iter().find(|factor| activity.methods & factor.flag != 0)
}

pub fn default_mfa_method(activity: &Activity) -> &'static str {
    preferred_second_factor(activity).map_or("none", |factor| factor.default_method)
}

pub fn preferred_secondary(activity: &Activity) -> &'static str {
    preferred_second_factor(activity).map_or("none", |factor| factor.preferred_secondary)
}

/// One `userRegistrationDetails` row (Graph has none for disabled accounts), in the shape of
/// `version`: `defaultMfaMethod` is a beta-only property.
pub fn registration_row(user: &User, activity: &Activity, anchor: i64, version: ApiVersion) -> Value {
    let registered = is_mfa_registered(activity);
    let methods = methods_registered(activity);
    let system_preferred: Vec<&str> = if registered { vec![default_mfa_method(activity)] } else { vec![] };
    let mut row = json!({
        "id": user.id,
        "userPrincipalName": user.user_principal_name,
        "userDisplayName": user.display_name,
        "userType": if user.user_type == UserType::Guest { "guest" } else { "member" },
        "isAdmin": activity.is_admin,
        "isSsprRegistered": activity.methods & (PHONE | EMAIL | AUTHENTICATOR) != 0,
        "isSsprEnabled": user.user_type == UserType::Member,
        "isSsprCapable": user.user_type == UserType::Member && activity.methods & (PHONE | EMAIL | AUTHENTICATOR) != 0,
        "isMfaRegistered": registered,
        "isMfaCapable": registered && activity.mfa_capable,
        "isPasswordlessCapable": activity.methods & (FIDO2 | HELLO) != 0,
        "methodsRegistered": methods,
        "defaultMfaMethod": default_mfa_method(activity),
        "isSystemPreferredAuthenticationMethodEnabled": true,
        "systemPreferredAuthenticationMethods": system_preferred,
        "userPreferredMethodForSecondaryAuthentication": preferred_secondary(activity),
        "lastUpdatedDateTime": clock::iso_utc(anchor - (activity.detail_seed % (20 * DAY as u64)) as i64),
    });
    if version == ApiVersion::V1 {
        if let Some(row) = row.as_object_mut() {
            row.remove("defaultMfaMethod");
        }
    }
    row
}

const DEVICES: &[&str] = &["iPhone 15", "Pixel 8", "Galaxy S24", "iPhone 13 mini", "Surface Duo"];
const KEYS: &[(&str, &str)] = &[
    ("YubiKey 5 NFC", "cb69481e-8ff7-4039-93ec-0a2729a154a8"),
    ("YubiKey Bio Series", "d8522d9f-575b-4866-88a9-ba99fa02f35b"),
    ("Feitian ePass FIDO2", "833b721a-ff5f-4d00-bb2e-bdda3ec01e29"),
];
const FREE_MAIL: &[&str] = &["outlook.example", "mail.example", "proton.example"];

/// The authentication methods a user registered, with Graph's shape for each type in `version`:
/// passkeys are `fido2AuthenticationMethod`s with a `passkeyType` (Graph has no
/// `passkeyAuthenticationMethod`), and a hardware OATH token (`hardwareOathAuthenticationMethod`)
/// exists only in beta.
pub fn methods_json(user: &User, activity: &Activity, version: ApiVersion) -> Vec<Value> {
    let s = activity.detail_seed;
    let part = |shift: u32, n: u64| ((s >> shift) % n) as usize;
    let created = clock::iso_utc(user.created + (s % (200 * DAY as u64)) as i64);
    let mut out = Vec::new();
    if user.user_type == UserType::Member {
        out.push(json!({
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": "28c10230-6103-485e-b985-444c60001490",
            "password": null,
            "createdDateTime": clock::iso_utc(user.password_changed),
        }));
    }
    if activity.methods & PHONE != 0 {
        out.push(json!({
            "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
            "id": "3179e48a-750b-4051-897c-87b9720928f7",
            "phoneNumber": phone_number(activity),
            "phoneType": "mobile",
            "smsSignInState": "notAllowedByPolicy",
        }));
    }
    if activity.methods & EMAIL != 0 {
        out.push(json!({
            "@odata.type": "#microsoft.graph.emailAuthenticationMethod",
            "id": "3ddfcfc8-9383-446f-83cc-3ab9be4be18f",
            "emailAddress": email_address(activity),
        }));
    }
    if activity.methods & AUTHENTICATOR != 0 {
        out.push(json!({
            "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "id": guid_from(s, 1),
            "displayName": DEVICES[part(8, DEVICES.len() as u64)],
            "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": "6.8.7",
            "createdDateTime": created,
        }));
    }
    if activity.methods & FIDO2 != 0 {
        let (model, aaguid) = KEYS[part(16, KEYS.len() as u64)];
        out.push(json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
            "id": guid_from(s, 2),
            "displayName": "Security key",
            "model": model,
            "aaGuid": aaguid,
            "attestationLevel": "attested",
            "attestationCertificates": [],
            "passkeyType": "deviceBound",
            "createdDateTime": created,
        }));
    }
    if activity.methods & SOFTWARE_OATH != 0 {
        out.push(json!({
            "@odata.type": "#microsoft.graph.softwareOathAuthenticationMethod",
            "id": guid_from(s, 3),
            "secretKey": null,
        }));
    }
    if has_hardware_oath(activity) && version == ApiVersion::Beta {
        out.push(json!({
            "@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod",
            "id": guid_from(s, 7),
            "createdDateTime": created,
        }));
    }
    if activity.methods & HELLO != 0 {
        out.push(json!({
            "@odata.type": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
            "id": guid_from(s, 4),
            "displayName": format!("DESKTOP-{:06X}", (s >> 20) & 0xff_ffff),
            "keyStrength": "normal",
            "createdDateTime": created,
        }));
    }
    if activity.methods & TAP != 0 {
        out.push(json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": guid_from(s, 5),
            "temporaryAccessPass": null,
            "createdDateTime": created,
            "startDateTime": created,
            "lifetimeInMinutes": 60,
            "isUsableOnce": true,
            "isUsable": false,
            "methodUsabilityReason": "Expired",
        }));
    }
    out
}

/// Whether the user also has a hardware OATH token (a beta-only method type): some users with a
/// software OATH token, drawn from the detail seed so the tenant's other data stays unchanged.
pub fn has_hardware_oath(activity: &Activity) -> bool {
    activity.methods & SOFTWARE_OATH != 0 && (activity.detail_seed >> 52) & 1 == 0
}

/// The phone number of a phone method: `+1 206 555 NNNN` (never one of the directory's numbers).
pub fn phone_number(activity: &Activity) -> String {
    format!("+1 206 555 {:04}", (activity.detail_seed >> 32) % 10_000)
}

/// The address of an email method: a personal mailbox, never the directory's mail.
pub fn email_address(activity: &Activity) -> String {
    let s = activity.detail_seed;
    format!("recovery{:05}@{}", (s >> 40) % 100_000, FREE_MAIL[((s >> 12) % FREE_MAIL.len() as u64) as usize])
}

/// The Conditional Access policy that asks for MFA in the simulated tenant's sign-ins.
const CA_POLICY_ID: &str = "6b0b0b2e-0f4c-4a8e-9b57-4e3c7d1a2f10";
const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";
const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const CITIES: &[(&str, &str, &str, f64, f64)] = &[
    ("Redmond", "Washington", "US", 47.674, -122.1215),
    ("Dublin", "Dublin", "IE", 53.3498, -6.2603),
    ("Berlin", "Berlin", "DE", 52.52, 13.405),
    ("Sydney", "New South Wales", "AU", -33.8688, 151.2093),
];

/// The sign-in's id: unique per entry (`sequence` numbers the whole log).
pub fn sign_in_id(entry: &SignIn, seed: u64) -> String {
    guid_from(seed ^ 0x51_61_1f, entry.sequence as u64)
}

/// How a caller sees the sign-in log.
#[derive(Debug, Clone, Copy)]
pub struct SignInView {
    pub version: ApiVersion,
    /// `Prefer: include-unknown-enum-members` was sent: report-only results appear as such,
    /// else they collapse to `unknownFutureValue`.
    pub unknown_enum_members: bool,
    /// The token can read Conditional Access: without it `appliedConditionalAccessPolicies` is
    /// absent.
    pub conditional_access: bool,
}

/// The results of `appliedConditionalAccessPolicyResult` after `unknownFutureValue`.
const REPORT_ONLY_RESULTS: [&str; 4] =
    ["reportOnlySuccess", "reportOnlyFailure", "reportOnlyNotApplied", "reportOnlyInterrupted"];

/// One sign-in as `auditLogs/signIns` returns it, in the view's version: v1.0 has every property
/// of its `signIn` type (metadata `clean_v10_metadata`), beta adds `authenticationRequirement`,
/// `authenticationRequirementPolicies`, `signInEventTypes` and `userType`. `shape` is what a
/// loaded scenario makes of the entry (`ca::sign_ins`).
pub fn sign_in_json(
    entry: &SignIn,
    user: &User,
    tenant_id: &str,
    seed: u64,
    view: SignInView,
    shape: Option<&SignInShape>,
) -> Value {
    let version = view.version;
    let failure = match entry.error_code {
        0 => "Other.",
        50074 => "Strong Authentication is required.",
        50126 => "Error validating credentials due to invalid username or password.",
        50140 => "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
        _ => "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
    };
    let by_ca = entry.provider == "multiConditionalAccess";
    let mfa = shape.map_or(entry.mfa, |s| s.mfa);
    let mut applied_policies: Vec<Value> = if let Some(shape) = shape {
        shape.applied.clone()
    } else if by_ca {
        vec![json!({
            "id": CA_POLICY_ID,
            "displayName": "Require multifactor authentication for all users",
            "enforcedGrantControls": ["Mfa"],
            "enforcedSessionControls": [],
            "result": if entry.error_code == 50074 { "failure" } else { "success" },
        })]
    } else {
        vec![]
    };
    let (city, state, country, latitude, longitude) = CITIES[entry.sequence as usize % CITIES.len()];
    let mut map = Map::new();
    map.insert("id".into(), Value::String(sign_in_id(entry, seed)));
    map.insert("createdDateTime".into(), Value::String(clock::iso_utc(entry.time)));
    map.insert("userDisplayName".into(), Value::String(user.display_name.clone()));
    map.insert("userPrincipalName".into(), Value::String(user.user_principal_name.clone()));
    map.insert("userId".into(), Value::String(user.id.clone()));
    let (app_id, app_name) =
        shape.map_or((EXCHANGE_ONLINE, "Office 365 Exchange Online"), |s| (s.app_id.as_str(), s.app_name.as_str()));
    map.insert("appId".into(), json!(app_id));
    map.insert("appDisplayName".into(), json!(app_name));
    map.insert("ipAddress".into(), Value::String(format!("203.0.113.{}", entry.sequence % 250 + 1)));
    map.insert("clientAppUsed".into(), json!("Browser"));
    map.insert("userAgent".into(), json!(USER_AGENT));
    map.insert("correlationId".into(), Value::String(guid_from(seed ^ 0xc0_44e1, entry.sequence as u64)));
    map.insert("isInteractive".into(), Value::Bool(entry.interactive));
    for policy in applied_policies.iter_mut() {
        let result = policy["result"].as_str().unwrap_or_default();
        if !view.unknown_enum_members && REPORT_ONLY_RESULTS.contains(&result) {
            policy["result"] = json!("unknownFutureValue");
        }
        if version == ApiVersion::V1 {
            if let Some(object) = policy.as_object_mut() {
                object.retain(|key, _| {
                    ["id", "displayName", "enforcedGrantControls", "enforcedSessionControls", "result"]
                        .contains(&key.as_str())
                });
            }
        }
    }
    if view.conditional_access {
        map.insert("appliedConditionalAccessPolicies".into(), Value::Array(applied_policies));
    }
    let status = shape.map_or(if by_ca { "success" } else { "notApplied" }, |s| s.conditional_access_status);
    map.insert("conditionalAccessStatus".into(), json!(status));
    map.insert("authenticationAppDeviceDetails".into(), Value::Null);
    map.insert(
        "deviceDetail".into(),
        json!({
            "browser": "Edge 131.0.0",
            "deviceId": "",
            "displayName": "",
            "isCompliant": false,
            "isManaged": false,
            "operatingSystem": "Windows10",
            "trustType": "",
        }),
    );
    map.insert(
        "location".into(),
        json!({
            "city": city,
            "state": state,
            "countryOrRegion": country,
            "geoCoordinates": {"altitude": null, "latitude": latitude, "longitude": longitude},
        }),
    );
    map.insert("homeTenantId".into(), json!(tenant_id));
    map.insert("resourceTenantId".into(), json!(tenant_id));
    map.insert("resourceDisplayName".into(), json!(app_name));
    map.insert("resourceId".into(), json!(app_id));
    map.insert("riskDetail".into(), json!("none"));
    map.insert("riskEventTypes".into(), json!([]));
    map.insert("riskEventTypes_v2".into(), json!([]));
    map.insert("riskLevelAggregated".into(), json!("none"));
    map.insert("riskLevelDuringSignIn".into(), json!("none"));
    map.insert("riskState".into(), json!("none"));
    map.insert("servicePrincipalId".into(), json!(""));
    map.insert("servicePrincipalName".into(), Value::Null);
    map.insert(
        "status".into(),
        json!({"errorCode": entry.error_code, "failureReason": failure, "additionalDetails": null}),
    );
    if version == ApiVersion::Beta {
        let policies: Vec<Value> = if let Some(shape) = shape {
            shape.providers.iter().map(|p| json!({"requirementProvider": p, "detail": provider_detail(p)})).collect()
        } else {
            match entry.provider {
                "" => vec![],
                "user" => vec![json!({"requirementProvider": "user", "detail": "Per-user MFA"})],
                "securityDefaults" => {
                    vec![json!({"requirementProvider": "securityDefaults", "detail": "Security defaults"})]
                }
                other => vec![json!({"requirementProvider": other, "detail": "Conditional Access"})],
            }
        };
        map.insert(
            "authenticationRequirement".into(),
            json!(if mfa { "multiFactorAuthentication" } else { "singleFactorAuthentication" }),
        );
        map.insert("authenticationRequirementPolicies".into(), Value::Array(policies));
        map.insert(
            "signInEventTypes".into(),
            json!([if entry.interactive { "interactiveUser" } else { "nonInteractiveUser" }]),
        );
        map.insert("userType".into(), json!(if user.user_type == UserType::Guest { "guest" } else { "member" }));
    }
    Value::Object(map)
}

fn provider_detail(provider: &str) -> &'static str {
    match provider {
        "user" => "Per-user MFA",
        "securityDefaults" => "Security defaults",
        "multiConditionalAccess" | "v1ConditionalAccess" => "Conditional Access",
        _ => "",
    }
}

/// The ground-truth fields `GET /_sim/users` adds for the report columns.
pub fn truth_json(user: &User, activity: &Activity) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("lastSignInDateTime".into(), iso(activity.last_sign_in));
    map.insert("lastNonInteractiveSignInDateTime".into(), iso(activity.last_non_interactive));
    map.insert("lastSuccessfulSignInDateTime".into(), iso(activity.last_successful));
    map.insert("lastMfaSignInDateTime".into(), iso(activity.last_mfa_sign_in));
    map.insert("signInSessionsValidFromDateTime".into(), iso(Some(activity.sessions_valid_from)));
    map.insert("lastPasswordChangeDateTime".into(), iso(Some(user.password_changed)));
    map.insert("passwordPolicies".into(), user.password_policies.map(Value::from).unwrap_or(Value::Null));
    map.insert("hasRegistrationDetails".into(), Value::Bool(user.account_enabled));
    map.insert("isAdmin".into(), Value::Bool(activity.is_admin));
    map.insert("isMfaRegistered".into(), Value::Bool(is_mfa_registered(activity)));
    map.insert("isMfaCapable".into(), Value::Bool(is_mfa_registered(activity) && activity.mfa_capable));
    map.insert("methodsRegistered".into(), json!(methods_registered(activity)));
    map.insert("defaultMfaMethod".into(), json!(default_mfa_method(activity)));
    map.insert("userPreferredMethodForSecondaryAuthentication".into(), json!(preferred_secondary(activity)));
    map.insert("authenticationMethods".into(), Value::Array(methods_json(user, activity, ApiVersion::V1)));
    map.insert("authenticationMethodsBeta".into(), Value::Array(methods_json(user, activity, ApiVersion::Beta)));
    let mut private = Vec::new();
    if activity.methods & PHONE != 0 {
        private.push(Value::String(phone_number(activity)));
    }
    if activity.methods & EMAIL != 0 {
        private.push(Value::String(email_address(activity)));
    }
    map.insert("privateMethodDetails".into(), Value::Array(private));
    map
}

/// Unix seconds from `2026-11-01T10:00:00Z` (also with fractions or `+00:00`); None otherwise.
pub fn parse_iso(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if &t[4..5] != "-" || &t[7..8] != "-" || !matches!(&t[10..11], "T" | "t" | " ") {
        return None;
    }
    let rest = &t[19..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if !(rest.is_empty() || rest.eq_ignore_ascii_case("z") || rest == "+00:00") {
        return None;
    }
    let (y2, m2) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * DAY + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::Tenant;

    #[test]
    fn iso_round_trips() {
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso("2024-08-19T01:08:18Z"), Some(1_724_029_698));
        assert_eq!(parse_iso("2024-08-19T01:08:18.123Z"), Some(1_724_029_698));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn activity_is_consistent_and_deterministic() {
        let a = Tenant::generate(2_000, 5, 0);
        let b = Tenant::generate(2_000, 5, 0);
        assert_eq!(a.sign_ins.len(), b.sign_ins.len());
        for (x, y) in a.users.iter().zip(&b.users) {
            assert_eq!(x.activity.methods, y.activity.methods);
            assert_eq!(x.activity.last_sign_in.map(|t| t - a.anchor), y.activity.last_sign_in.map(|t| t - b.anchor));
        }
        for user in &a.users {
            let act = &user.activity;
            assert_eq!(is_mfa_registered(act), user.has_mfa_methods, "{}", user.user_principal_name);
            if let (Some(s), Some(l)) = (act.last_successful, act.last_sign_in) {
                assert!(l >= s);
            }
            if let (Some(m), Some(s)) = (act.last_mfa_sign_in, act.last_successful) {
                assert!(s >= m);
            }
            if !user.account_enabled {
                assert!(act.last_mfa_sign_in.is_none());
            }
        }
        assert!(a.sign_ins.windows(2).all(|w| w[0].time >= w[1].time), "newest first");
        assert!(a.sign_ins.iter().all(|s| s.time > a.anchor - 29 * DAY - 120));
        assert!(a.sign_ins.iter().any(|s| s.provider == "user"));
        assert!(a.sign_ins.iter().any(|s| s.provider == "multiConditionalAccess"));
        assert!(a.sign_ins.iter().any(|s| s.mfa && s.error_code != 0));
    }
}
