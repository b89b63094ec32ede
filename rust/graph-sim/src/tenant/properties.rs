//! The user properties the simulator knows: names for `$select`, Graph's default projections per
//! version, and each property's value for a user.

use serde_json::{json, Value};

use super::{User, UserType};
use crate::clock;

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
