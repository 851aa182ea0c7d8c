//! The cap on tool calls in progress: a semaphore of `--max-concurrent-calls` slots; a call over
//! the cap waits up to [`QUEUE_WAIT`] for one, then is refused. Zero means unlimited.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a call over the concurrency cap waits for a slot before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The cap on calls in progress.
#[derive(Debug)]
pub struct ConcurrencyLimiter {
    max: u32,
    semaphore: Arc<Semaphore>,
    wait: Duration,
}

impl ConcurrencyLimiter {
    /// A cap of `max` calls (0: unlimited), waiting up to `wait` for a slot.
    pub fn new(max: u32, wait: Duration) -> Self {
        ConcurrencyLimiter {
            max,
            semaphore: Arc::new(Semaphore::new(max as usize)),
            wait,
        }
    }

    /// The configured cap.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// A slot for one call (`Ok(None)` when unlimited), or `Err` when none frees up in time.
    pub async fn acquire(&self) -> Result<Option<OwnedSemaphorePermit>, ()> {
        if self.max == 0 {
            return Ok(None);
        }
        match tokio::time::timeout(self.wait, Arc::clone(&self.semaphore).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(()),
        }
    }
}
