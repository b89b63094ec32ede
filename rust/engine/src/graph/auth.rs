//! Where bearer tokens come from. Each sign-in method is one variant; the pipeline only asks
//! for a token per try.

use crate::error::{EngineError, ErrorKind};
use crate::secret::Secret;

pub enum Credential {
    /// A token obtained elsewhere (`Connect-PerUserMfa -AccessToken`).
    AccessToken(Secret),
}

impl Credential {
    pub fn access_token(secret: Secret) -> Result<Credential, EngineError> {
        if secret.is_empty() {
            return Err(EngineError::new(
                ErrorKind::Unauthorized,
                "The access token is empty. Pass a Microsoft Graph token as a SecureString, for example \
                 Connect-PerUserMfa -AccessToken (ConvertTo-SecureString $token -AsPlainText -Force).",
            ));
        }
        if secret.expose().to_ascii_lowercase().starts_with("bearer ") {
            return Err(EngineError::invalid_input(
                "The access token starts with 'Bearer '. Pass the token alone, without the scheme.",
            ));
        }
        Ok(Credential::AccessToken(secret))
    }

    /// The token for the next try.
    pub async fn bearer(&self) -> Result<Secret, EngineError> {
        match self {
            Credential::AccessToken(secret) => Ok(secret.clone()),
        }
    }
}
