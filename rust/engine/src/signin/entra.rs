//! Entra ID's answers to a token request, turned into messages that say what to fix.
//!
//! Entra ID (`/{tenant}/oauth2/v2.0/token`) refuses with a body like
//! `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. ...\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...","error_codes":[7000215],"trace_id":"...","correlation_id":"..."}`.
//! The message keeps the AADSTS code (admins search for it) and the trace and correlation ids
//! (Microsoft support asks for them); the error's `graphCode` is `AADSTS<code>`.

use serde_json::Value;

use crate::error::{EngineError, ErrorKind};

/// The sign-in methods, as the connection's details and messages name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    AccessToken,
    GraphSession,
    ClientSecret,
    Certificate,
    ManagedIdentity,
    AzureCli,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::AccessToken => "AccessToken",
            Method::GraphSession => "GraphSession",
            Method::ClientSecret => "ClientSecret",
            Method::Certificate => "Certificate",
            Method::ManagedIdentity => "ManagedIdentity",
            Method::AzureCli => "AzureCli",
        }
    }
}

/// What the sign-in was for, to name it in messages.
#[derive(Debug, Clone)]
pub struct SignInContext {
    pub method: Method,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub thumbprint: Option<String>,
    /// Where tokens come from (the authority host, or the managed identity / CLI source).
    pub authority: String,
}

/// A refusal from the token endpoint.
#[derive(Debug, Clone, Default)]
pub struct EntraError {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub codes: Vec<u32>,
    pub description: String,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl EntraError {
    /// Reads an Entra error body; a body that is not Entra's JSON is kept as its text.
    pub fn from_body(status: Option<u16>, body: &[u8]) -> EntraError {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |name: &str| parsed.get(name).and_then(Value::as_str).map(str::to_string);
        let description = text("error_description")
            .or_else(|| text("message"))
            .or_else(|| parsed["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(400).collect());
        let mut codes: Vec<u32> = parsed
            .get("error_codes")
            .and_then(Value::as_array)
            .map(|codes| codes.iter().filter_map(|c| c.as_u64().map(|c| c as u32)).collect())
            .unwrap_or_default();
        if codes.is_empty() {
            codes.extend(aadsts_code(&description));
        }
        let error = text("error").or_else(|| parsed["error"]["code"].as_str().map(str::to_string));
        EntraError {
            status,
            error,
            codes,
            trace_id: text("trace_id").or_else(|| line_value(&description, "Trace ID:")),
            correlation_id: text("correlation_id").or_else(|| line_value(&description, "Correlation ID:")),
            description,
        }
    }

    /// An error with only a text (Azure CLI's stderr, a managed identity endpoint's message).
    pub fn from_text(status: Option<u16>, text: &str) -> EntraError {
        EntraError {
            status,
            codes: aadsts_code(text).into_iter().collect(),
            trace_id: line_value(text, "Trace ID:"),
            correlation_id: line_value(text, "Correlation ID:"),
            description: text.to_string(),
            ..EntraError::default()
        }
    }

    pub fn code(&self) -> Option<u32> {
        self.codes.first().copied()
    }

    /// The first line of the description without its `AADSTSnnnn: ` prefix.
    pub fn summary(&self) -> String {
        let first = self.description.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        let trimmed = match first.find(": ") {
            Some(i) if first[..i].starts_with("AADSTS") => &first[i + 2..],
            _ => first,
        };
        trimmed.chars().take(600).collect()
    }
}

/// The number in the first `AADSTSnnnn` of `text`.
pub fn aadsts_code(text: &str) -> Option<u32> {
    let start = text.find("AADSTS")? + "AADSTS".len();
    let digits: String = text[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn line_value(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(label).map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty())
}

const APP_REGISTRATIONS: &str = "Entra admin center > App registrations";

/// The admin-facing error for a refused token request.
pub fn explain(error: &EntraError, context: &SignInContext) -> EngineError {
    let app = context.client_id.as_deref().map(|c| format!("app '{c}'")).unwrap_or_else(|| "the app".into());
    let tenant = context.tenant_id.as_deref().map(|t| format!("tenant '{t}'")).unwrap_or_else(|| "the tenant".into());
    let description = error.description.to_ascii_lowercase();
    let (lead, advice) = match error.code() {
        Some(7000215) => (
            format!("Entra ID refused the client secret for {app}"),
            format!(
                "Pass the secret's Value (shown once, when the secret is created), not its Secret ID, and check \
                 the secret has not been deleted: {APP_REGISTRATIONS} > (the app) > Certificates & secrets. \
                 Then run Connect-PerUserMfa -TenantId -ClientId -ClientSecret again."
            ),
        ),
        Some(7000222) => (
            format!("The client secret of {app} has expired"),
            format!(
                "Create a new client secret ({APP_REGISTRATIONS} > (the app) > Certificates & secrets > New client \
                 secret) and connect with it."
            ),
        ),
        Some(700027) if description.contains("expired") => (
            format!(
                "Entra ID refused the certificate{} for {app}: the certificate registered on the app has expired",
                thumbprint_text(context)
            ),
            format!(
                "Create a new certificate, upload its public part (.cer) to {APP_REGISTRATIONS} > (the app) > \
                 Certificates & secrets > Certificates, and connect with the new one."
            ),
        ),
        Some(700027) if description.contains("not found") => (
            format!("Entra ID does not know the certificate{} for {app}", thumbprint_text(context)),
            format!(
                "Upload the certificate's public part (.cer) to {APP_REGISTRATIONS} > (the app) > Certificates & \
                 secrets > Certificates, or connect with the certificate that is registered there."
            ),
        ),
        Some(700027) => (
            format!("Entra ID could not verify the client assertion signed with the certificate{} for {app}", thumbprint_text(context)),
            format!(
                "Check that the private key belongs to the certificate registered on the app ({APP_REGISTRATIONS} > \
                 (the app) > Certificates & secrets > Certificates) and that the certificate has not expired."
            ),
        ),
        Some(700024) => (
            "Entra ID refused the client assertion as outside its valid time range".to_string(),
            "Check that this computer's clock is correct (time zone and time synchronisation).".to_string(),
        ),
        Some(700016) => (
            format!("There is no {app} in {tenant}"),
            "Check -ClientId (the application (client) id from the app's Overview page) and -TenantId, and that the \
             app is registered in that tenant (or consented to it if it is multi-tenant)."
                .to_string(),
        ),
        Some(90002) | Some(900023) | Some(90013) => (
            format!("Entra ID does not know {tenant}"),
            "Check -TenantId (the directory (tenant) id GUID, or a verified domain such as contoso.onmicrosoft.com) \
             and -Environment: a tenant in a national cloud needs -Environment USGov, USGovDoD or China."
                .to_string(),
        ),
        Some(65001) | Some(7000229) => (
            format!("{} has not been consented in {tenant}", capitalise(&app)),
            format!(
                "An administrator must grant admin consent: {APP_REGISTRATIONS} > (the app) > API permissions > \
                 Grant admin consent (for a managed identity: New-MgServicePrincipalAppRoleAssignment). The app \
                 needs the Microsoft Graph application permissions Policy.Read.All (reading states) or \
                 Policy.ReadWrite.AuthenticationMethod (changing them) and User.Read.All."
            ),
        ),
        Some(7000112) => (
            format!("{} is disabled", capitalise(&app)),
            "An administrator must enable the app (Enterprise applications > (the app) > Properties > Enabled for users to sign in).".to_string(),
        ),
        Some(53003) => (
            "A Conditional Access policy blocked the sign-in".to_string(),
            "Ask an administrator to exclude this app or workload identity from the policy, or sign in from an allowed location.".to_string(),
        ),
        Some(500011) => (
            "Microsoft Graph is not available in this tenant for this cloud".to_string(),
            "Check -Environment: the tenant may be in a national cloud (USGov, USGovDoD, China).".to_string(),
        ),
        Some(70011) | Some(1002012) => (
            "Entra ID refused the requested scope".to_string(),
            "This is unexpected; check -Environment and -GraphEndpoint.".to_string(),
        ),
        _ => (
            format!("Entra ID refused to issue a token for {app} in {tenant}"),
            "Check -TenantId, -ClientId and the credential, then run Connect-PerUserMfa again.".to_string(),
        ),
    };
    let code = error.code().map(|c| format!("AADSTS{c}"));
    let mut message = match &code {
        Some(code) => format!("{lead} ({code}). {advice}"),
        None => format!("{lead}. {advice}"),
    };
    let summary = error.summary();
    if !summary.is_empty() {
        message.push_str(&format!(" Entra ID said: {}", sentence(&summary)));
    }
    if let Some(trace) = &error.trace_id {
        message.push_str(&format!(" Trace ID: {trace}"));
    }
    if let Some(correlation) = &error.correlation_id {
        message.push_str(&format!(" Correlation ID: {correlation}"));
    }
    EngineError {
        kind: ErrorKind::SignInFailed,
        message,
        status: error.status,
        graph_code: code.or_else(|| error.error.clone()),
        request_id: error.correlation_id.clone(),
    }
}

fn thumbprint_text(context: &SignInContext) -> String {
    context.thumbprint.as_deref().map(|t| format!(" (thumbprint {t})")).unwrap_or_default()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// Entra ID could not be reached at all.
pub fn unreachable(context: &SignInContext, cause: &str) -> EngineError {
    EngineError::new(
        ErrorKind::SignInFailed,
        format!(
            "Could not reach Entra ID at {} to sign in: {cause}. Check the network and any proxy, and -Environment \
             or -AuthorityHost.",
            context.authority
        ),
    )
}

/// The error for a failed `azure_identity` token request.
pub fn from_azure(error: &azure_core::Error, context: &SignInContext) -> EngineError {
    use azure_core::error::ErrorKind as AzureKind;
    let inner = error.downcast_ref::<azure_core::Error>().unwrap_or(error);
    match inner.kind() {
        AzureKind::HttpResponse { status, raw_response, .. } => {
            let status = u16::from(*status);
            match raw_response {
                Some(response) => explain(&EntraError::from_body(Some(status), response.body().as_ref()), context),
                None => explain(&EntraError::from_text(Some(status), &inner.to_string()), context),
            }
        }
        AzureKind::Io | AzureKind::Connection => unreachable(context, &chain(inner)),
        _ => {
            let text = chain(inner);
            if aadsts_code(&text).is_some() {
                explain(&EntraError::from_text(None, &text), context)
            } else {
                EngineError::new(ErrorKind::SignInFailed, format!("Sign-in failed: {}", strip_troubleshooting(&text)))
            }
        }
    }
}

/// An error and its causes in one line.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = inner.source();
    }
    text
}

/// azure_identity appends a link to its own troubleshooting guide, which is about its API rather
/// than about this module.
pub fn strip_troubleshooting(text: &str) -> String {
    match text.find("\nTo troubleshoot, visit") {
        Some(i) => text[..i].trim().to_string(),
        None => text.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> SignInContext {
        SignInContext {
            method: Method::ClientSecret,
            tenant_id: Some("contoso.onmicrosoft.com".into()),
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            thumbprint: Some("AB12".into()),
            authority: "https://login.microsoftonline.com".into(),
        }
    }

    fn body(code: u32, error: &str, text: &str) -> Vec<u8> {
        serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-01-01 00:00:00Z"),
            "error_codes": [code],
            "trace_id": "t-1",
            "correlation_id": "c-1",
        })
        .to_string()
        .into_bytes()
    }

    fn explained(code: u32, text: &str) -> EngineError {
        explain(&EntraError::from_body(Some(400), &body(code, "invalid_client", text)), &context())
    }

    #[test]
    fn wrong_secret_says_value_not_id_and_keeps_the_code_and_ids() {
        let e = explained(7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
        assert_eq!(e.kind, ErrorKind::SignInFailed);
        assert_eq!(e.kind.error_id(), "SignInFailed");
        assert_eq!(e.graph_code.as_deref(), Some("AADSTS7000215"));
        assert!(e.message.contains("(AADSTS7000215)"), "{}", e.message);
        assert!(e.message.contains("Value"));
        assert!(e.message.contains("Secret ID"));
        assert!(e.message.contains("Trace ID: t-1"));
        assert!(e.message.contains("Correlation ID: c-1"));
        assert!(e.message.contains("Entra ID said: Invalid client secret provided."));
        assert!(!e.message.contains("Timestamp"));
        assert_eq!(e.request_id.as_deref(), Some("c-1"));
    }

    #[test]
    fn certificate_problems_are_told_apart() {
        let expired = explained(700027, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: 'AB12']");
        assert!(expired.message.contains("expired") && expired.message.contains("AADSTS700027"));
        assert!(expired.message.contains("thumbprint AB12"));
        let unknown =
            explained(700027, "Client assertion contains an invalid signature. [Reason - The key was not found.]");
        assert!(unknown.message.contains("does not know the certificate"));
        let bad = explained(700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]");
        assert!(bad.message.contains("could not verify"));
    }

    #[test]
    fn consent_tenant_and_app_errors_say_what_to_fix() {
        let consent = explained(65001, "The user or administrator has not consented to use the application.");
        assert!(consent.message.contains("Grant admin consent") && consent.message.contains("AADSTS65001"));
        let tenant = explained(90002, "Tenant 'nope' not found.");
        assert!(tenant.message.contains("-TenantId") && tenant.message.contains("-Environment"));
        let app = explained(700016, "Application with identifier 'x' was not found in the directory 'y'.");
        assert!(app.message.contains("-ClientId"));
        let other = explained(12345, "Something new.");
        assert!(other.message.contains("AADSTS12345") && other.message.contains("Something new."));
    }

    #[test]
    fn codes_come_from_the_text_when_the_body_has_none() {
        let e = EntraError::from_text(
            None,
            "ERROR: AADSTS700016: Application with identifier 'x' was not found.\nTrace ID: abc",
        );
        assert_eq!(e.code(), Some(700016));
        assert_eq!(e.trace_id.as_deref(), Some("abc"));
        assert_eq!(aadsts_code("no code here"), None);
        let plain = EntraError::from_body(Some(500), b"upstream exploded");
        assert_eq!(plain.description, "upstream exploded");
        assert!(plain.codes.is_empty());
    }

    #[test]
    fn the_troubleshooting_link_is_dropped() {
        assert_eq!(
            strip_troubleshooting(
                "AzureCliCredential authentication failed. boom\nTo troubleshoot, visit https://aka.ms/x"
            ),
            "AzureCliCredential authentication failed. boom"
        );
    }
}
