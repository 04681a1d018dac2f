//! Counters in Prometheus's text format (`GET /_hiss/v1/metrics`).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the node has done since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    objects: AtomicU64,
    bytes: AtomicU64,
    frames: AtomicU64,
    kept: AtomicU64,
    refused: AtomicU64,
    kernel_micros: AtomicU64,
    flushed_objects: AtomicU64,
    flushed_bytes: AtomicU64,
    /// Flush passes that failed (the tier refused or was away) and were retried.
    flush_failures: AtomicU64,
    /// Objects not yet in the persistent tier.
    unflushed: AtomicU64,
    /// Seconds the oldest of them has waited.
    flush_lag_secs: AtomicU64,
    /// CPU-slot objects run again in an emulated slot, and those that differed.
    verified: AtomicU64,
    mismatches: AtomicU64,
}

impl Metrics {
    /// An object stored: its bytes, frames, frames kept and kernel time.
    pub fn object(&self, bytes: u64, frames: u64, kept: u64, kernel: Duration) {
        self.objects.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.frames.fetch_add(frames, Ordering::Relaxed);
        self.kept.fetch_add(kept, Ordering::Relaxed);
        self.kernel_micros
            .fetch_add(kernel.as_micros() as u64, Ordering::Relaxed);
    }

    /// An object refused (malformed for its kernel).
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// An object checked in an emulated slot (`--verify-sample`), and whether
    /// it differed.
    pub fn verified(&self, differed: bool) {
        self.verified.fetch_add(1, Ordering::Relaxed);
        if differed {
            self.mismatches.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An object copied to the persistent tier.
    pub fn flushed(&self, bytes: u64) {
        self.flushed_objects.fetch_add(1, Ordering::Relaxed);
        self.flushed_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A flush pass that failed (it is retried).
    pub fn flush_failed(&self) {
        self.flush_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// What waits for the persistent tier: objects, and the oldest's age.
    pub fn backlog(&self, objects: u64, lag: Duration) {
        self.unflushed.store(objects, Ordering::Relaxed);
        self.flush_lag_secs.store(lag.as_secs(), Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let frames = g(&self.frames);
        let kept = g(&self.kept);
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, v: String| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        metric(
            "hiss_objects_total",
            "counter",
            "Objects stored or processed.",
            g(&self.objects).to_string(),
        );
        metric(
            "hiss_bytes_total",
            "counter",
            "Bytes received in objects.",
            g(&self.bytes).to_string(),
        );
        metric(
            "hiss_frames_total",
            "counter",
            "Frames run through kernels.",
            frames.to_string(),
        );
        metric(
            "hiss_frames_kept_total",
            "counter",
            "Frames a keep output kept.",
            kept.to_string(),
        );
        metric(
            "hiss_frames_dropped_total",
            "counter",
            "Frames a keep output dropped.",
            (frames - kept.min(frames)).to_string(),
        );
        metric(
            "hiss_objects_refused_total",
            "counter",
            "Objects refused as malformed for their kernel.",
            g(&self.refused).to_string(),
        );
        metric(
            "hiss_kernel_seconds_total",
            "counter",
            "Time from an object's first byte to its kernel's last output.",
            format!("{:.6}", g(&self.kernel_micros) as f64 / 1e6),
        );
        metric(
            "hiss_verified_objects_total",
            "counter",
            "Objects run on a CPU slot and again in an emulated slot (--verify-sample).",
            g(&self.verified).to_string(),
        );
        metric(
            "hiss_verify_mismatches_total",
            "counter",
            "Of those, objects whose outputs, keep flags or states differed.",
            g(&self.mismatches).to_string(),
        );
        metric(
            "hiss_flushed_objects_total",
            "counter",
            "Objects copied to the persistent tier.",
            g(&self.flushed_objects).to_string(),
        );
        metric(
            "hiss_flushed_bytes_total",
            "counter",
            "Bytes copied to the persistent tier.",
            g(&self.flushed_bytes).to_string(),
        );
        metric(
            "hiss_flush_failures_total",
            "counter",
            "Flush passes that failed (the tier refused or was unreachable) and were retried.",
            g(&self.flush_failures).to_string(),
        );
        metric(
            "hiss_unflushed_objects",
            "gauge",
            "Objects not yet in the persistent tier (at the flusher's last look).",
            g(&self.unflushed).to_string(),
        );
        metric(
            "hiss_flush_lag_seconds",
            "gauge",
            "Age of the oldest object not yet in the persistent tier.",
            g(&self.flush_lag_secs).to_string(),
        );
        s
    }
}
