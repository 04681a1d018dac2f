//! The flusher: a background thread that copies every committed object not yet
//! in the persistent tier into it, oldest first, then marks it flushed (and
//! evicts its bytes from the buffer, unless `--keep-flushed`; a bucket's kernel
//! and its array inputs always stay). A node killed
//! mid-flush resumes at its next start: the mark is written only after the
//! tier has the whole object, and the tier writes whole objects only.

use crate::metrics::Metrics;
use crate::store::Store;
use crate::tier::Tier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Wakes the flusher (after a commit) and tells it to stop.
#[derive(Default)]
pub struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
    stop: AtomicBool,
}

impl Signal {
    /// Something new to flush.
    pub fn wake(&self) {
        *self.woken.lock().expect("flush signal") = true;
        self.cv.notify_all();
    }

    /// Stop after the object in hand.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits until woken or `timeout` passes.
    fn wait(&self, timeout: Duration) {
        let g = self.woken.lock().expect("flush signal");
        let (mut g, _) = self
            .cv
            .wait_timeout_while(g, timeout, |w| !*w)
            .expect("flush signal");
        *g = false;
    }
}

/// The flusher's configuration and handles.
pub struct Flusher {
    /// The buffer.
    pub store: Arc<Store>,
    /// The tier.
    pub tier: Arc<dyn Tier>,
    /// Counters (backlog, lag, flushed objects and bytes).
    pub metrics: Arc<Metrics>,
    /// Wakes and stops it.
    pub signal: Arc<Signal>,
    /// Evict flushed objects' bytes from the buffer.
    pub evict: bool,
}

impl Flusher {
    /// Runs until stopped.
    pub fn run(self) {
        let mut backoff = Duration::from_millis(200);
        while !self.signal.stopping() {
            match self.pass() {
                Ok(()) => {
                    // nothing left: sleep until a commit wakes it (a pass reads
                    // every object's metadata, so it does not poll an idle buffer)
                    backoff = Duration::from_millis(200);
                    self.signal.wait(Duration::from_secs(600));
                }
                Err(e) => {
                    tracing::warn!(error = %e, tier = %self.tier.describe(), "flush failed; retrying");
                    self.metrics.flush_failed();
                    self.signal.wait(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Flushes everything not yet in the tier, oldest first.
    pub fn pass(&self) -> Result<(), String> {
        let mut todo = Vec::new();
        for b in self.store.buckets().map_err(|e| e.to_string())? {
            for m in self.store.list(&b, "").map_err(|e| e.to_string())? {
                if !m.flushed {
                    todo.push((m.modified, b.clone(), m));
                }
            }
        }
        todo.sort_by_key(|t| t.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let lag = |i: usize| {
            todo.get(i).map_or(Duration::ZERO, |t| {
                Duration::from_secs((now - t.0).max(0) as u64)
            })
        };
        self.metrics.backlog(todo.len() as u64, lag(0));
        for (i, (_, bucket, m)) in todo.iter().enumerate() {
            if self.signal.stopping() {
                break;
            }
            let started = Instant::now();
            let Ok((cur, path)) = self.store.get(bucket, &m.key) else {
                continue; // deleted meanwhile
            };
            if cur.flushed || cur.data.is_empty() {
                continue;
            }
            self.tier.put(bucket, &cur, &path)?;
            // a kernel, its array inputs and its states stay in the buffer: every
            // object reads them
            let control = crate::keys::is_control(&cur.key);
            let marked = self
                .store
                .mark_flushed(bucket, &cur.key, &cur.data, self.evict && !control)
                .map_err(|e| e.to_string())?;
            if !marked && self.store.get(bucket, &cur.key).is_err() {
                // deleted while it was copied: the tier must not keep it
                self.tier.delete(bucket, &cur.key)?;
            }
            self.metrics.flushed(cur.size);
            self.metrics
                .backlog((todo.len() - i - 1) as u64, lag(i + 1));
            tracing::debug!(bucket, key = %cur.key, bytes = cur.size, ms = started.elapsed().as_millis() as u64, "flushed");
        }
        Ok(())
    }
}
