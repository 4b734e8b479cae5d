//! Bounds on what one request and all of them together may cost: `k`,
//! batch and body sizes, a deadline, and a gate that lets a fixed number
//! of requests work and a fixed number wait, and turns the rest away with
//! 503 at once, so overload costs neither memory nor latency for the
//! requests already admitted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::api::ApiError;

/// The largest HNSW beam a request may ask for.
pub const MAX_EF: usize = 10_000;
/// The most dense candidates a request may ask to re-score.
pub const MAX_CANDIDATES: usize = 1_000_000;

/// Per-request bounds.
pub struct Limits {
    pub max_k: usize,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub timeout: Duration,
}

/// Admission: `max_concurrent` permits, and at most `max_queue` requests
/// waiting for one.
pub struct Gate {
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    waiting: AtomicUsize,
    max_queue: usize,
    running: Arc<AtomicUsize>,
    /// When the last turn ended, in µs since `epoch`.
    last_end: Arc<AtomicU64>,
    epoch: Instant,
    pub rejected: std::sync::atomic::AtomicU64,
}

/// Holds a request's turn; dropping it lets the next one in.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    running: Arc<AtomicUsize>,
    last_end: Arc<AtomicU64>,
    epoch: Instant,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.last_end
            .store(micros_since(self.epoch), Ordering::Relaxed);
        self.running.fetch_sub(1, Ordering::Relaxed);
    }
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// How long the gate must have had nothing at work before a request counts
/// as arriving at an idle server: under load, requests follow each other
/// closer than this.
const IDLE: Duration = Duration::from_millis(1);

/// Counts a waiting request until it is admitted or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gate {
    pub fn new(max_concurrent: usize, max_queue: usize) -> Gate {
        Gate {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            waiting: AtomicUsize::new(0),
            max_queue,
            running: Arc::new(AtomicUsize::new(0)),
            last_end: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
            rejected: Default::default(),
        }
    }

    /// Whether the turn just taken is the only one and the server had been
    /// idle before it (nothing at work for a while): the request may then
    /// do its work on the thread that read it. Sustained load never looks
    /// alone, so its work keeps going to the blocking pool.
    pub fn alone(&self) -> bool {
        self.running() == 1
            && self.waiting() == 0
            && micros_since(self.epoch).saturating_sub(self.last_end.load(Ordering::Relaxed))
                >= IDLE.as_micros() as u64
    }

    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    pub fn max_queue(&self) -> usize {
        self.max_queue
    }

    /// Requests working now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Requests waiting for a turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// A turn, after waiting if the queue has room; 503 if it has none.
    pub async fn enter(&self) -> Result<Turn, ApiError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_queue {
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    return Err(ApiError::overloaded(format!(
                        "overloaded: {} requests running and {} waiting; retry later",
                        self.max_concurrent, self.max_queue
                    )));
                }
                let _waiting = Waiting(&self.waiting);
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| ApiError::overloaded("the server is stopping".into()))?
            }
        };
        self.running.fetch_add(1, Ordering::Relaxed);
        Ok(Turn {
            _permit: permit,
            running: self.running.clone(),
            last_end: self.last_end.clone(),
            epoch: self.epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_is_alone_only_at_an_idle_server() {
        let gate = Gate::new(2, 2);
        std::thread::sleep(IDLE * 2);
        let first = gate.enter().await.ok().unwrap();
        assert!(gate.alone(), "one turn after an idle spell");
        let second = gate.enter().await.ok().unwrap();
        assert!(!gate.alone(), "two at work");
        drop(second);
        std::thread::sleep(IDLE * 2);
        assert!(gate.alone(), "one at work, the other ended a while ago");
        drop(first);
        assert_eq!(gate.running(), 0);
    }
}
