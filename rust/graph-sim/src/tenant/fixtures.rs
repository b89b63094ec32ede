//! The fixed users every tenant starts with, whatever the seed: the cases tests name (guest
//! `#EXT#` UPNs, apostrophes, non-ASCII letters, markup in a display name, a disabled account,
//! `enabled` that is stored as `enforced`).

use std::sync::atomic::{AtomicU32, AtomicU8};

use super::{MfaState, User, UserType};

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

pub(super) fn fixtures() -> Vec<User> {
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

#[cfg(test)]
mod tests {
    use super::super::{MfaState, Tenant, UserType};

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
}
