//! Riding out an outage. Graph's retry policy (`graph/retry.rs`) covers seconds of trouble: a
//! few retries with backoff. A read that still fails transiently (5xx after every retry, a
//! connection that cannot be made, a `$batch` answer that keeps leaving the request out) is tried
//! again here, with growing pauses, until Graph has been failing for [`OUTAGE_PATIENCE`]; so a
//! minute-long outage delays the run instead of failing every user read during it. One warning
//! per job says what is happening.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{EngineError, ErrorKind};
use crate::events::Event;
use crate::job::JobContext;

/// How long a read keeps being retried while Graph fails transiently.
pub const OUTAGE_PATIENCE: Duration = Duration::from_secs(300);
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(15);

/// Shared by a job's reads: whether the outage warning went out.
#[derive(Clone)]
pub struct Patience {
    context: JobContext,
    warned: Arc<AtomicBool>,
    limit: Duration,
    first_pause: Duration,
}

impl Patience {
    pub fn new(context: &JobContext) -> Patience {
        Patience::with_limits(context, OUTAGE_PATIENCE, FIRST_PAUSE)
    }

    fn with_limits(context: &JobContext, limit: Duration, first_pause: Duration) -> Patience {
        Patience { context: context.clone(), warned: Arc::new(AtomicBool::new(false)), limit, first_pause }
    }

    /// Runs `read` until it succeeds, fails for good, or Graph has failed transiently for the limit.
    pub async fn read<T, F, Fut>(&self, mut read: F) -> Result<T, EngineError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, EngineError>>,
    {
        let mut failing_since: Option<Instant> = None;
        let mut pause = self.first_pause;
        loop {
            match read().await {
                Err(error) if error.kind == ErrorKind::Transient => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.limit {
                        return Err(error);
                    }
                    self.warn_once(&error).await;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
                outcome => return outcome,
            }
        }
    }

    async fn warn_once(&self, error: &EngineError) {
        if self.warned.swap(true, Ordering::SeqCst) {
            return;
        }
        let message = format!(
            "Graph keeps failing after its retries ({}); the reads that failed are tried again for up to {} min \
             before they are reported as errors.",
            error.message.trim_end_matches('.'),
            self.limit.as_secs() / 60
        );
        self.context.events.send(Event::warning(message)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn outage() -> EngineError {
        EngineError::new(ErrorKind::Transient, "Graph could not read (503 serviceNotAvailable) after every retry.")
    }

    #[tokio::test]
    async fn a_read_outlives_a_short_outage_with_one_warning() {
        let (context, mut events) = JobContext::for_tests();
        let patience = Patience::with_limits(&context, Duration::from_secs(10), Duration::from_millis(5));
        let tries = AtomicU32::new(0);
        let read = || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(outage()),
                _ => Ok("enforced"),
            }
        };
        assert_eq!(patience.read(read).await.unwrap(), "enforced");
        assert_eq!(tries.load(Ordering::SeqCst), 4);
        drop((patience, context));
        let mut warnings = 0;
        while let Some(event) = events.recv().await {
            warnings += usize::from(event.contains("\"warning\""));
        }
        assert_eq!(warnings, 1);
    }

    #[tokio::test]
    async fn an_outage_longer_than_the_patience_fails_and_other_errors_fail_at_once() {
        let (context, _events) = JobContext::for_tests();
        let patience = Patience::with_limits(&context, Duration::from_millis(50), Duration::from_millis(5));
        let started = Instant::now();
        let error = patience.read(|| async { Err::<(), _>(outage()) }).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Transient);
        assert!(started.elapsed() >= Duration::from_millis(50));
        let tries = AtomicU32::new(0);
        let refused = patience
            .read(|| async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(EngineError::new(ErrorKind::UserNotFound, "no such user"))
            })
            .await
            .unwrap_err();
        assert_eq!((refused.kind, tries.load(Ordering::SeqCst)), (ErrorKind::UserNotFound, 1));
    }
}
