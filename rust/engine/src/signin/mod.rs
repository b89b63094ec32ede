//! Signing in: from the session options (`auth.kind` and friends) to a [`Credential`], and the
//! connection's details Get-PerUserMfaConnection shows.
//!
//! | `auth.kind` | secret argument | how |
//! |---|---|---|
//! | `accessToken` | the token | static; never refreshed |
//! | `graphSession` | the token of a Connect-MgGraph session | static; never refreshed |
//! | `clientSecret` | the client secret | `azure_identity::ClientSecretCredential` |
//! | `certificate` | the private key, base64 DER | `azure_identity::ClientAssertionCredential` + [`assertion`] |
//! | `managedIdentity` | `IDENTITY_HEADER` or `MSI_SECRET` | [`managed_identity`] |
//! | `azureCli` | none | `azure_identity::AzureCliCredential` + [`azure_cli::CliExecutor`] |
//!
//! Tokens are cached by [`Credential`], not by `azure_identity`: its per-credential cache
//! refreshes five minutes before expiry whatever the lifetime and cannot be invalidated after a
//! 401, so each refresh after a rejection builds a fresh `azure_identity` credential.

pub mod assertion;
pub mod azure_cli;
pub mod claims;
pub mod cloud;
pub mod entra;
pub mod managed_identity;
pub mod preflight;
pub mod token_check;
pub mod transport;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    ClientAssertionCredential, ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
};
use reqwest::Url;
use serde_json::json;

use crate::error::{EngineError, ErrorKind};
use crate::graph::auth::{Credential, Token, TokenSource};
use crate::options::{validate_url, AuthOptions, SessionOptions};
use crate::secret::Secret;
use assertion::CertificateAssertion;
use claims::{rfc3339, Claims};
use cloud::Cloud;
use entra::{Method, SignInContext};
use managed_identity::ManagedIdentity;
use transport::SignInTransport;

/// What the connection is, for Get-PerUserMfaConnection (no secrets here).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub method: Method,
    pub cloud: Cloud,
    pub graph_endpoint: String,
    pub authority_host: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub thumbprint: Option<String>,
    pub managed_identity_source: Option<&'static str>,
}

impl ConnectionInfo {
    /// The details as JSON, with what the current token says (permissions, expiry), never the token.
    pub fn to_json(&self, token: Option<&Token>) -> String {
        let claims = token.and_then(|t| Claims::decode(t.secret.expose()));
        let expires = token.and_then(|t| t.expires_on).or_else(|| claims.as_ref().and_then(Claims::expires_on));
        json!({
            "method": self.method.as_str(),
            "environment": self.cloud.name(),
            "graphEndpoint": self.graph_endpoint,
            "authorityHost": self.authority_host,
            "tenantId": claims.as_ref().and_then(|c| c.tenant_id.clone()).or_else(|| self.tenant_id.clone()),
            "clientId": claims.as_ref().and_then(|c| c.app_id.clone()).or_else(|| self.client_id.clone()),
            "appDisplayName": claims.as_ref().and_then(|c| c.app_display_name.clone()),
            "account": claims.as_ref().and_then(|c| c.account.clone()),
            "permissionType": claims.as_ref().map(|c| c.permission_type().as_str()),
            "permissions": claims.as_ref().map(|c| c.permissions().to_vec()),
            "tokenExpiresOn": expires.map(rfc3339),
            "tokenFormat": if token.is_none() { None } else if claims.is_some() { Some("jwt") } else { Some("opaque") },
            "certificateThumbprint": self.thumbprint,
            "managedIdentitySource": self.managed_identity_source,
            "refreshes": self.method_refreshes(),
        })
        .to_string()
    }

    fn method_refreshes(&self) -> bool {
        !matches!(self.method, Method::AccessToken | Method::GraphSession)
    }
}

/// The HTTP client for token requests: like Graph's, with shorter timeouts.
fn http_client(user_agent: &str, connect_timeout: Duration) -> Result<reqwest::Client, EngineError> {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| EngineError::internal(format!("Could not create the HTTP client for sign-in: {e}")))
}

fn required<'a>(value: &'a str, parameter: &str) -> Result<&'a str, EngineError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(EngineError::invalid_input(format!(
            "{parameter} is empty. Pass the value from the app registration's Overview page."
        )));
    }
    Ok(value)
}

/// Builds the credential the options ask for. Must run inside the session's runtime (the
/// HTTP client is created here).
pub fn build(
    options: &SessionOptions,
    cloud: Cloud,
    graph_endpoint: &Url,
    secret: Secret,
    user_agent: &str,
) -> Result<(Credential, ConnectionInfo), EngineError> {
    let authority = match options.authority_host.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(given) => validate_url(given, "-AuthorityHost", "https://login.microsoftonline.com")?,
        None => Url::parse(cloud.authority_host()).expect("known authority"),
    };
    let authority_text = authority.as_str().trim_end_matches('/').to_string();
    let mut info = ConnectionInfo {
        method: Method::AccessToken,
        cloud,
        graph_endpoint: graph_endpoint.as_str().trim_end_matches('/').to_string(),
        authority_host: None,
        tenant_id: None,
        client_id: None,
        thumbprint: None,
        managed_identity_source: None,
    };
    let credential = match &options.auth {
        AuthOptions::AccessToken => {
            token_check::check(secret.expose(), cloud, SystemTime::now())?;
            Credential::access_token(secret)?
        }
        AuthOptions::GraphSession => {
            info.method = Method::GraphSession;
            Credential::access_token(secret)?
        }
        AuthOptions::ClientSecret { tenant_id, client_id } => {
            let tenant_id = required(tenant_id, "-TenantId")?.to_string();
            let client_id = required(client_id, "-ClientId")?.to_string();
            if secret.is_empty() {
                return Err(EngineError::invalid_input("-ClientSecret is empty. Pass the secret's Value from the app registration (Certificates & secrets)."));
            }
            info.method = Method::ClientSecret;
            info.authority_host = Some(authority_text.clone());
            info.tenant_id = Some(tenant_id.clone());
            info.client_id = Some(client_id.clone());
            let context = SignInContext {
                method: Method::ClientSecret,
                tenant_id: Some(tenant_id.clone()),
                client_id: Some(client_id.clone()),
                thumbprint: None,
                authority: authority_text.clone(),
            };
            let (authority_url, transport) =
                SignInTransport::for_authority(http_client(user_agent, Duration::from_secs(10))?, &authority);
            let client_options = client_options(&authority_url, transport);
            let azure_secret = azure_core::credentials::Secret::new(secret.expose().to_string());
            let factory = move || -> azure_core::Result<Arc<dyn TokenCredential>> {
                let options = ClientSecretCredentialOptions { client_options: client_options.clone() };
                Ok(ClientSecretCredential::new(&tenant_id, client_id.clone(), azure_secret.clone(), Some(options))?)
            };
            Credential::from_source(Box::new(EntraSource::new(Box::new(factory), cloud.graph_scope(), context)?))
        }
        AuthOptions::Certificate { tenant_id, client_id, thumbprint } => {
            let tenant_id = required(tenant_id, "-TenantId")?.to_string();
            let client_id = required(client_id, "-ClientId")?.to_string();
            let thumbprint = thumbprint.trim().to_ascii_uppercase();
            info.method = Method::Certificate;
            info.authority_host = Some(authority_text.clone());
            info.tenant_id = Some(tenant_id.clone());
            info.client_id = Some(client_id.clone());
            info.thumbprint = Some(thumbprint.clone());
            let context = SignInContext {
                method: Method::Certificate,
                tenant_id: Some(tenant_id.clone()),
                client_id: Some(client_id.clone()),
                thumbprint: Some(thumbprint.clone()),
                authority: authority_text.clone(),
            };
            let audience = format!("{authority_text}/{tenant_id}/oauth2/v2.0/token");
            let signer = Arc::new(CertificateAssertion::new(&secret, &thumbprint, &client_id, &audience)?);
            drop(secret);
            let (authority_url, transport) =
                SignInTransport::for_authority(http_client(user_agent, Duration::from_secs(10))?, &authority);
            let client_options = client_options(&authority_url, transport);
            let factory = move || -> azure_core::Result<Arc<dyn TokenCredential>> {
                let options = ClientAssertionCredentialOptions { client_options: client_options.clone() };
                Ok(ClientAssertionCredential::new(
                    tenant_id.clone(),
                    client_id.clone(),
                    SharedAssertion(signer.clone()),
                    Some(options),
                )?)
            };
            Credential::from_source(Box::new(EntraSource::new(Box::new(factory), cloud.graph_scope(), context)?))
        }
        AuthOptions::ManagedIdentity { client_id, environment_variables, secret_variable } => {
            let client_id = client_id.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
            let identity = ManagedIdentity::detect(
                http_client(user_agent, Duration::from_secs(3))?,
                environment_variables,
                secret,
                secret_variable.as_deref(),
                client_id.clone(),
                cloud.graph_resource(),
            )?;
            info.method = Method::ManagedIdentity;
            info.client_id = client_id;
            info.managed_identity_source = Some(identity.kind().as_str());
            Credential::from_source(Box::new(identity))
        }
        AuthOptions::AzureCli { tenant_id, path } => {
            info.method = Method::AzureCli;
            info.tenant_id = tenant_id.clone().filter(|t| !t.trim().is_empty());
            let context = SignInContext {
                method: Method::AzureCli,
                tenant_id: info.tenant_id.clone(),
                client_id: None,
                thumbprint: None,
                authority: "the Azure CLI".into(),
            };
            Credential::from_source(Box::new(azure_cli::AzureCli::new(
                info.tenant_id.clone(),
                path.clone(),
                cloud.graph_scope(),
                context,
            )?))
        }
    };
    Ok((credential, info))
}

fn client_options(authority: &Url, transport: Arc<SignInTransport>) -> ClientOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = authority.as_str().trim_end_matches('/').to_string();
    ClientOptions {
        transport: Some(Transport::new(transport)),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(500),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(20),
            max_delay: azure_core::time::Duration::seconds(5),
        }),
        ..Default::default()
    }
}

/// One signer shared by every `azure_identity` credential built for the connection.
#[derive(Debug)]
struct SharedAssertion(Arc<CertificateAssertion>);

#[async_trait]
impl azure_identity::ClientAssertion for SharedAssertion {
    async fn secret(&self, options: Option<azure_core::http::ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.0.secret(options).await
    }
}

type Factory = Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// Tokens from Entra ID's token endpoint through an `azure_identity` credential.
struct EntraSource {
    factory: Factory,
    current: Mutex<Arc<dyn TokenCredential>>,
    scope: String,
    context: SignInContext,
}

impl EntraSource {
    fn new(factory: Factory, scope: String, context: SignInContext) -> Result<EntraSource, EngineError> {
        let first = factory().map_err(|e| invalid_sign_in_input(&e))?;
        Ok(EntraSource { factory, current: Mutex::new(first), scope, context })
    }
}

/// azure_identity refuses some input before any request (a tenant id with a space, say).
fn invalid_sign_in_input(error: &azure_core::Error) -> EngineError {
    EngineError::new(
        ErrorKind::InvalidInput,
        format!(
            "The sign-in parameters are not valid: {}.",
            entra::strip_troubleshooting(&error.to_string()).trim_end_matches('.')
        ),
    )
}

#[async_trait]
impl TokenSource for EntraSource {
    async fn fetch(&self, after_rejection: bool) -> Result<Token, EngineError> {
        let credential = {
            let mut current = self.current.lock().unwrap();
            if after_rejection {
                // azure_identity's own cache would hand back the token Graph just refused.
                *current = (self.factory)().map_err(|e| invalid_sign_in_input(&e))?;
            }
            current.clone()
        };
        let now = SystemTime::now();
        let token = credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| entra::from_azure(&e, &self.context))?;
        let expires = u64::try_from(token.expires_on.unix_timestamp()).ok().and_then(unix_time);
        Ok(Token::new(Secret::new(token.token.secret().to_string()), expires, now))
    }
}

/// `UNIX_EPOCH` plus `seconds`, or None when the platform's clock cannot hold that moment. Token
/// lifetimes come from sign-in endpoints and tokens: a hostile or broken one (`expires_in` =
/// u64::MAX) must read as "expiry unknown", never overflow `SystemTime + Duration` (a panic).
pub fn unix_time(seconds: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// `now` plus `seconds`, or None when the clock cannot hold it (see [`unix_time`]).
pub fn seconds_after(now: SystemTime, seconds: u64) -> Option<SystemTime> {
    now.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_past_the_clock_are_unknown_not_a_panic() {
        assert_eq!(unix_time(1_700_000_000), Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        assert_eq!(unix_time(u64::MAX), None);
        assert_eq!(seconds_after(SystemTime::now(), u64::MAX), None);
        assert!(seconds_after(SystemTime::now(), 3600).is_some());
    }
}
