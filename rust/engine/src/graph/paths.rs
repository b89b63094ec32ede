//! Building Graph URLs from what admins type.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters left as they are in a user path segment: RFC 3986 unreserved plus `@`.
/// Everything else is percent-encoded as UTF-8: `#` in guest UPNs (`#EXT#`) would otherwise start
/// a fragment, `'`, `+`, `&`, `/`, `?`, `%` and spaces would change the URL's meaning, and non-ASCII
/// letters must travel as UTF-8 octets.
const USER_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'@');

/// The path segment for a user given by object id or user principal name.
pub fn user_segment(user: &str) -> String {
    utf8_percent_encode(user.trim(), USER_SEGMENT).to_string()
}

/// `/users/{user}/authentication/requirements`, relative to the API version.
pub fn requirements_path(user: &str) -> String {
    format!("/users/{}/authentication/requirements", user_segment(user))
}

/// `/users/{user}/authentication/methods`, relative to the API version.
pub fn methods_path(user: &str) -> String {
    format!("/users/{}/authentication/methods", user_segment(user))
}

/// `/users/{user}?$select=...`, relative to the API version.
pub fn user_path(user: &str, select: &str) -> String {
    format!("/users/{}?$select={}", user_segment(user), select)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_upn_hash_is_encoded() {
        assert_eq!(
            user_segment("megan.bowen_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            "megan.bowen_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"
        );
    }

    #[test]
    fn apostrophe_plus_ampersand_slash_and_space_are_encoded() {
        assert_eq!(user_segment("miriam.o'brien@contoso.com"), "miriam.o%27brien@contoso.com");
        assert_eq!(user_segment("a+b&c/d e?f%g@x.com"), "a%2Bb%26c%2Fd%20e%3Ff%25g@x.com");
    }

    #[test]
    fn non_ascii_is_utf8_percent_encoded() {
        assert_eq!(user_segment("zoë.åström@contoso.com"), "zo%C3%AB.%C3%A5str%C3%B6m@contoso.com");
    }

    #[test]
    fn object_ids_pass_unchanged() {
        let id = "00000000-0000-4000-8000-000000000001";
        assert_eq!(user_segment(id), id);
        assert_eq!(requirements_path(id), format!("/users/{id}/authentication/requirements"));
    }
}
