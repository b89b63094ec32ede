//! Where bearer tokens come from, and the per-connection token cache in front of them.
//!
//! A [`Credential`] is either a static token (`-AccessToken`, `-UseGraphSession`: nothing to
//! refresh it with) or a [`TokenSource`] that can mint a new token (client secret, certificate,
//! managed identity, Azure CLI; see `crate::signin`). Tokens from a source are cached and
//! refreshed before they expire, once, however many requests ask at the same moment; a 401 from
//! Graph asks for one refresh through [`Credential::refresh_after_rejection`].

use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::{EngineError, ErrorKind};
use crate::secret::Secret;
use crate::signin::claims::Claims;

/// A refresh starts this long before expiry at most...
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// ...and never later than this share of the token's lifetime before expiry (short-lived tokens).
pub const REFRESH_SHARE_OF_LIFETIME: f64 = 0.5;
/// After a refresh failed while the old token was still good, wait this long before trying again.
pub const REFRESH_RETRY_PAUSE: Duration = Duration::from_secs(10);

/// An access token and what is known about its lifetime.
#[derive(Clone)]
pub struct Token {
    pub secret: Secret,
    /// When it expires, when known (the source said, or the JWT's `exp`).
    pub expires_on: Option<SystemTime>,
    /// When this process got it.
    pub obtained_at: SystemTime,
}

impl Token {
    pub fn new(secret: Secret, expires_on: Option<SystemTime>, obtained_at: SystemTime) -> Token {
        Token { secret, expires_on, obtained_at }
    }

    /// The moment a refresh is due: `min(5 min, lifetime / 2)` before expiry. None: never.
    pub fn refresh_due(&self) -> Option<SystemTime> {
        let expires_on = self.expires_on?;
        let lifetime = expires_on.duration_since(self.obtained_at).unwrap_or(Duration::ZERO);
        let margin = MAX_REFRESH_MARGIN.min(lifetime.mul_f64(REFRESH_SHARE_OF_LIFETIME));
        Some(expires_on.checked_sub(margin).unwrap_or(expires_on))
    }

    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        self.refresh_due().is_some_and(|due| now >= due)
    }

    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_on.is_some_and(|expiry| now >= expiry)
    }
}

/// Something that can get a new token: one per sign-in method.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A fresh token (the [`Credential`] does the caching). `after_rejection`: Graph refused the
    /// last token, so a source with a cache of its own must bypass it.
    async fn fetch(&self, after_rejection: bool) -> Result<Token, EngineError>;
}

/// The clock the cache reads; tests replace it.
pub type Clock = fn() -> SystemTime;

pub struct Credential {
    source: Option<Box<dyn TokenSource>>,
    /// The current token, read without waiting by every request.
    current: RwLock<Option<Token>>,
    /// Held while a token is being fetched, so concurrent requests wait for one fetch.
    fetching: tokio::sync::Mutex<RefreshState>,
    clock: Clock,
}

#[derive(Default)]
struct RefreshState {
    /// After a failed refresh with a still-valid token: not before this moment again.
    pause_until: Option<SystemTime>,
}

impl Credential {
    /// A token obtained elsewhere (`Connect-PerUserMfa -AccessToken`, `-UseGraphSession`).
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
        let expires_on = Claims::decode(secret.expose()).and_then(|c| c.expires_on());
        let token = Token::new(secret, expires_on, SystemTime::now());
        Ok(Credential {
            source: None,
            current: RwLock::new(Some(token)),
            fetching: tokio::sync::Mutex::new(RefreshState::default()),
            clock: SystemTime::now,
        })
    }

    /// Tokens from `source`, fetched on first use and refreshed before they expire.
    pub fn from_source(source: Box<dyn TokenSource>) -> Credential {
        Credential::with_clock(source, SystemTime::now)
    }

    pub fn with_clock(source: Box<dyn TokenSource>, clock: Clock) -> Credential {
        Credential {
            source: Some(source),
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(RefreshState::default()),
            clock,
        }
    }

    /// Whether a rejected token can be replaced (false for a static token).
    pub fn can_refresh(&self) -> bool {
        self.source.is_some()
    }

    /// The current token, when there is one (for the connection's details and the pre-flight check).
    pub fn current(&self) -> Option<Token> {
        self.current.read().unwrap().clone()
    }

    /// The token for the next try: the cached one while it is good, else a new one.
    pub async fn bearer(&self) -> Result<Secret, EngineError> {
        let now = (self.clock)();
        if let Some(token) = self.current.read().unwrap().as_ref() {
            if self.source.is_none() || !token.needs_refresh(now) {
                return Ok(token.secret.clone());
            }
        }
        let Some(source) = &self.source else {
            // Static and absent cannot happen (access_token always stores one).
            return Err(EngineError::internal("the connection has no token"));
        };
        let mut state = self.fetching.lock().await;
        let now = (self.clock)();
        let cached = self.current.read().unwrap().clone();
        if let Some(token) = &cached {
            if !token.needs_refresh(now) {
                return Ok(token.secret.clone());
            }
            if state.pause_until.is_some_and(|until| now < until) && !token.is_expired(now) {
                return Ok(token.secret.clone());
            }
        }
        match source.fetch(false).await {
            Ok(token) => {
                state.pause_until = None;
                let secret = token.secret.clone();
                *self.current.write().unwrap() = Some(token);
                Ok(secret)
            }
            // The old token still works for a while: use it and try again a little later.
            Err(_) if cached.as_ref().is_some_and(|t| !t.is_expired((self.clock)())) => {
                state.pause_until = Some((self.clock)() + REFRESH_RETRY_PAUSE);
                Ok(cached.unwrap().secret)
            }
            Err(error) => Err(error),
        }
    }

    /// Graph answered 401 to `rejected`: get a new token unless another request already did.
    /// Ok(false) for a static token (nothing to refresh with); Err when the source fails.
    pub async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<bool, EngineError> {
        let Some(source) = &self.source else { return Ok(false) };
        let mut state = self.fetching.lock().await;
        let replaced = self.current.read().unwrap().as_ref().is_some_and(|t| t.secret.expose() != rejected.expose());
        if replaced {
            return Ok(true);
        }
        let token = source.fetch(true).await?;
        state.pause_until = None;
        *self.current.write().unwrap() = Some(token);
        Ok(true)
    }
}

/// A sign-in failure in the middle of a job ends the job like a rejected token does: every
/// other request would fail the same way. The message (what to fix) stays.
pub fn stops_the_job(mut error: EngineError) -> EngineError {
    if error.kind == ErrorKind::SignInFailed {
        error.kind = ErrorKind::Unauthorized;
    }
    error
}

#[cfg(test)]
// The clock lock only serialises tests that share the fake clock; nothing else takes it.
#[allow(clippy::await_holding_lock)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    /// A clock tests move by hand (seconds after a fixed epoch).
    static NOW: AtomicU64 = AtomicU64::new(0);
    static CLOCK_LOCK: Mutex<()> = Mutex::new(());

    fn fake_now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + NOW.load(Ordering::SeqCst))
    }

    fn set_now(seconds: u64) {
        NOW.store(seconds, Ordering::SeqCst);
    }

    /// Mints `token-N` valid for `lifetime` seconds from the fake clock; fails when told to.
    struct Counting {
        lifetime: u64,
        calls: Arc<AtomicU64>,
        fail: Arc<Mutex<bool>>,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn fetch(&self, _after_rejection: bool) -> Result<Token, EngineError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if *self.fail.lock().unwrap() {
                return Err(EngineError::new(ErrorKind::SignInFailed, "AADSTS7000215: bad secret"));
            }
            tokio::task::yield_now().await;
            let now = fake_now();
            Ok(Token::new(Secret::new(format!("token-{n}")), Some(now + Duration::from_secs(self.lifetime)), now))
        }
    }

    fn credential(lifetime: u64) -> (Credential, Arc<AtomicU64>, Arc<Mutex<bool>>) {
        let calls = Arc::new(AtomicU64::new(0));
        let fail = Arc::new(Mutex::new(false));
        let source = Counting { lifetime, calls: calls.clone(), fail: fail.clone() };
        (Credential::with_clock(Box::new(source), fake_now), calls, fail)
    }

    #[test]
    fn refresh_is_due_five_minutes_early_or_at_half_life() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let hour = Token::new(Secret::new("x".into()), Some(t0 + Duration::from_secs(3600)), t0);
        assert_eq!(hour.refresh_due(), Some(t0 + Duration::from_secs(3300)));
        let short = Token::new(Secret::new("x".into()), Some(t0 + Duration::from_secs(10)), t0);
        assert_eq!(short.refresh_due(), Some(t0 + Duration::from_secs(5)));
        assert!(!short.needs_refresh(t0 + Duration::from_secs(4)));
        assert!(short.needs_refresh(t0 + Duration::from_secs(5)));
        let unknown = Token::new(Secret::new("x".into()), None, t0);
        assert!(!unknown.needs_refresh(t0 + Duration::from_secs(1_000_000)));
    }

    #[tokio::test]
    async fn tokens_are_cached_then_refreshed_before_expiry() {
        let _guard = CLOCK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_now(0);
        let (credential, calls, _) = credential(3600);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-1");
        set_now(3000);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-1", "still fresh: cached");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        set_now(3300);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-2", "five minutes before expiry: refreshed");
        set_now(3400);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_fetch() {
        let _guard = CLOCK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_now(0);
        let (credential, calls, _) = credential(3600);
        let credential = Arc::new(credential);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let c = credential.clone();
                tokio::spawn(async move { c.bearer().await.unwrap().expose().to_string() })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_rejection_refreshes_once_for_all_requests_that_saw_it() {
        let _guard = CLOCK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_now(0);
        let (credential, calls, _) = credential(3600);
        let first = credential.bearer().await.unwrap();
        assert!(credential.refresh_after_rejection(&first).await.unwrap());
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-2");
        // A second request that also failed with token-1 does not fetch again.
        assert!(credential.refresh_after_rejection(&first).await.unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_static_token_never_refreshes() {
        let credential = Credential::access_token(Secret::new("opaque-token".into())).unwrap();
        assert!(!credential.can_refresh());
        let token = credential.bearer().await.unwrap();
        assert!(!credential.refresh_after_rejection(&token).await.unwrap());
        assert_eq!(credential.bearer().await.unwrap().expose(), "opaque-token");
        assert!(credential.current().unwrap().expires_on.is_none(), "an opaque token has no known expiry");
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_a_valid_token_then_reports_the_error_once_it_expires() {
        let _guard = CLOCK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_now(0);
        let (credential, calls, fail) = credential(100);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-1");
        *fail.lock().unwrap() = true;
        set_now(60);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-1", "refresh failed; the old token still works");
        set_now(65);
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-1");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no new attempt during the pause");
        set_now(100);
        let error = credential.bearer().await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::SignInFailed);
        *fail.lock().unwrap() = false;
        assert_eq!(credential.bearer().await.unwrap().expose(), "token-4");
    }
}
