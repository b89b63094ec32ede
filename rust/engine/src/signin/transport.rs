//! The HTTP client `azure_identity` sends token requests through: the engine's own reqwest
//! client (rustls, no redirects), so sign-in shares the engine's TLS stack and timeouts.
//!
//! `azure_identity` accepts only an `https://` authority host. The tests' Entra ID is the Graph
//! simulator on plain http on loopback, and `-AuthorityHost` allows plain http for a loopback
//! address exactly as `-GraphEndpoint` does; for that case the credential is given the https twin
//! of the address and this transport sends the request to the http original. Nothing else is
//! rewritten.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, Url};

#[derive(Debug)]
pub struct SignInTransport {
    client: reqwest::Client,
    /// (https twin, http original) origins for a loopback authority given as plain http.
    downgrade: Option<(Url, Url)>,
}

impl SignInTransport {
    pub fn new(client: reqwest::Client) -> SignInTransport {
        SignInTransport { client, downgrade: None }
    }

    /// For an authority host given as plain http on loopback: the https URL to hand to
    /// `azure_identity`, and a transport that sends requests for it back to plain http.
    pub fn for_authority(client: reqwest::Client, authority: &Url) -> (Url, Arc<SignInTransport>) {
        if authority.scheme() != "http" {
            return (authority.clone(), Arc::new(SignInTransport::new(client)));
        }
        let mut twin = authority.clone();
        // http -> https keeps host and port (an explicit port stays; a default 80 becomes 443,
        // so make it explicit first).
        if twin.port().is_none() {
            let _ = twin.set_port(Some(80));
        }
        let _ = twin.set_scheme("https");
        let mut original = authority.clone();
        if original.port().is_none() {
            let _ = original.set_port(Some(80));
        }
        (twin.clone(), Arc::new(SignInTransport { client, downgrade: Some((twin, original)) }))
    }

    fn target(&self, url: &Url) -> Url {
        match &self.downgrade {
            Some((twin, original)) if url.origin() == twin.origin() => {
                let mut rewritten = url.clone();
                let _ = rewritten.set_scheme(original.scheme());
                let _ = rewritten.set_port(original.port());
                rewritten
            }
            _ => url.clone(),
        }
    }
}

#[async_trait]
impl HttpClient for SignInTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let target = self.target(request.url());
        if &target == request.url() {
            return self.client.execute_request(request).await;
        }
        let mut rewritten = request.clone();
        *rewritten.url_mut() = target;
        self.client.execute_request(&rewritten).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_loopback_authority_goes_back_to_http() {
        let client = reqwest::Client::new();
        let (twin, transport) =
            SignInTransport::for_authority(client.clone(), &Url::parse("http://127.0.0.1:5123").unwrap());
        assert_eq!(twin.as_str(), "https://127.0.0.1:5123/");
        let token_url = twin.join("/tenant/oauth2/v2.0/token").unwrap();
        assert_eq!(transport.target(&token_url).as_str(), "http://127.0.0.1:5123/tenant/oauth2/v2.0/token");
        let other = Url::parse("https://login.microsoftonline.com/t/oauth2/v2.0/token").unwrap();
        assert_eq!(transport.target(&other), other);
        let other_port = Url::parse("https://127.0.0.1:9999/t").unwrap();
        assert_eq!(transport.target(&other_port), other_port);

        let (same, plain) =
            SignInTransport::for_authority(client, &Url::parse("https://login.microsoftonline.us").unwrap());
        assert_eq!(same.as_str(), "https://login.microsoftonline.us/");
        assert_eq!(plain.target(&same), same);
    }
}
