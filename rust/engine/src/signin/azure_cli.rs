//! Azure CLI sign-in: `azure_identity::AzureCliCredential` runs `az account get-access-token`
//! in the platform shell. The engine gives it its own [`azure_identity::Executor`] that sets the
//! child's `PATH` to the one the PowerShell session sees (on Linux and macOS .NET keeps its own
//! copy of the environment, so a `$env:PATH` change would otherwise not reach `az`), closes
//! stdin, and gives up after a timeout instead of hanging the cmdlet.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions, Executor};

use super::entra::{self, EntraError, SignInContext};
use crate::error::{EngineError, ErrorKind};
use crate::graph::auth::{Token, TokenSource};
use crate::secret::Secret;

/// `az` can take a few seconds (it may refresh its own token first); not minutes.
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

pub struct CliExecutor {
    path: Option<OsString>,
}

impl fmt::Debug for CliExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CliExecutor")
    }
}

#[async_trait]
impl Executor for CliExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> io::Result<Output> {
        let mut command = tokio::process::Command::new(program);
        command.args(args).stdin(Stdio::null()).kill_on_drop(true);
        if let Some(path) = &self.path {
            command.env("PATH", path);
        }
        match tokio::time::timeout(CLI_TIMEOUT, command.output()).await {
            Ok(output) => output,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("az did not answer within {} s", CLI_TIMEOUT.as_secs()),
            )),
        }
    }
}

pub struct AzureCli {
    credential: Arc<AzureCliCredential>,
    scope: String,
    context: SignInContext,
}

impl AzureCli {
    pub fn new(
        tenant_id: Option<String>,
        path: Option<String>,
        scope: String,
        context: SignInContext,
    ) -> Result<AzureCli, EngineError> {
        let options = AzureCliCredentialOptions {
            tenant_id: tenant_id.filter(|t| !t.trim().is_empty()),
            executor: Some(Arc::new(CliExecutor { path: path.filter(|p| !p.is_empty()).map(OsString::from) })),
            ..Default::default()
        };
        let credential = AzureCliCredential::new(Some(options))
            .map_err(|e| EngineError::invalid_input(entra::strip_troubleshooting(&e.to_string())))?;
        Ok(AzureCli { credential, scope, context })
    }
}

#[async_trait]
impl TokenSource for AzureCli {
    async fn fetch(&self, _after_rejection: bool) -> Result<Token, EngineError> {
        let now = SystemTime::now();
        match self.credential.get_token(&[self.scope.as_str()], None).await {
            Ok(token) => {
                let expires = u64::try_from(token.expires_on.unix_timestamp()).ok().and_then(super::unix_time);
                Ok(Token::new(Secret::new(token.token.secret().to_string()), expires, now))
            }
            Err(error) => Err(explain(&entra::strip_troubleshooting(&entra::chain(&error)), &self.context)),
        }
    }
}

/// What the CLI's failure means for the admin.
pub fn explain(text: &str, context: &SignInContext) -> EngineError {
    let said = text.trim_start_matches("AzureCliCredential authentication failed.").trim();
    let lower = said.to_ascii_lowercase();
    let message = if lower.contains("not found on path")
        || lower.contains("wasn't found on path")
        || lower.contains("not recognized")
    {
        "The Azure CLI (az) was not found on PATH. Install it (https://aka.ms/installazurecli) and run az login, or sign in \
         another way (-Identity, -ClientSecret, -CertificatePath, Connect-MgGraph)."
            .to_string()
    } else if lower.contains("az login") {
        format!(
            "The Azure CLI is not signed in, or its sign-in has expired. Run az login (az login --tenant <tenant> for \
             another tenant), then Connect-PerUserMfa -AzureCli again. The CLI said: {}",
            first_line(said)
        )
    } else if entra::aadsts_code(said).is_some() {
        return entra::explain(&EntraError::from_text(None, said), context);
    } else if lower.contains("timed out") || lower.contains("did not answer") {
        format!(
            "The Azure CLI did not answer: {}. Run az account get-access-token yourself to see why.",
            first_line(said)
        )
    } else {
        format!("The Azure CLI could not get a Microsoft Graph token: {}", first_line(said))
    };
    EngineError::new(ErrorKind::SignInFailed, message)
}

fn first_line(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no details");
    line.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::entra::Method;

    fn context() -> SignInContext {
        SignInContext {
            method: Method::AzureCli,
            tenant_id: None,
            client_id: None,
            thumbprint: None,
            authority: "the Azure CLI".into(),
        }
    }

    #[test]
    fn cli_failures_say_what_to_do() {
        let e = explain(
            "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.",
            &context(),
        );
        assert!(e.message.contains("Run az login") && e.message.contains("Please run 'az login'"), "{}", e.message);
        assert!(explain("az not found on PATH", &context()).message.contains("was not found on PATH"));
        let aad = explain("ERROR: AADSTS700082: The refresh token has expired due to inactivity.", &context());
        assert_eq!(aad.graph_code.as_deref(), Some("AADSTS700082"));
        assert!(explain("something odd", &context()).message.contains("something odd"));
    }
}
