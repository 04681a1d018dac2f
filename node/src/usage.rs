//! `--buffer-bytes`: a cap on the bytes the buffer holds, below what its file
//! system would take. A body that would take the buffer past it is refused as
//! the file system's ENOSPC is: `507 InsufficientStorage`, nothing kept
//! ([`crate::fail::full`]).
//!
//! What counts: the files of the buffer's buckets (objects not evicted to the
//! tier, results, states, event logs, metadata), measured by walking them, and
//! the bodies being received, counted as they arrive. The measurement is
//! taken again after a commit or a delete (at most once a second otherwise),
//! so a run of PUTs sees each other's bytes; a run's results and kept frames
//! count once committed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The buffer's cap and what it holds.
#[derive(Debug)]
pub struct Usage {
    cap: Option<u64>,
    root: PathBuf,
    /// Bytes of bodies being received now.
    receiving: AtomicU64,
    /// The last measurement of the buckets' files, and when.
    measured: Mutex<Option<(Instant, u64)>>,
    /// Set by a commit or a delete: measure again at the next check.
    stale: AtomicBool,
}

impl Usage {
    /// The usage of the buffer at `root`, capped at `cap` bytes (`None`: only
    /// the file system limits it).
    pub fn new(root: &Path, cap: Option<u64>) -> Usage {
        Usage {
            cap,
            root: root.to_path_buf(),
            receiving: AtomicU64::new(0),
            measured: Mutex::new(None),
            stale: AtomicBool::new(true),
        }
    }

    /// The buffer's contents changed (a commit, a delete).
    pub fn changed(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    /// `n` more bytes of a body arrived; refused (nothing counted) when they
    /// would take the buffer past its cap, saying how full it is.
    pub fn receive(&self, n: u64) -> Result<(), String> {
        let now = self.receiving.fetch_add(n, Ordering::Relaxed) + n;
        let Some(cap) = self.cap else {
            return Ok(());
        };
        let held = self.held();
        if held + now > cap {
            self.receiving.fetch_sub(n, Ordering::Relaxed);
            return Err(format!(
                "its cap of {cap} bytes (--buffer-bytes): {held} held and {} arriving",
                now - n
            ));
        }
        Ok(())
    }

    /// A body's `n` bytes are no longer arriving (received whole, or given up).
    pub fn received(&self, n: u64) {
        self.receiving.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes of the buckets' files, measured again when stale or a second old.
    fn held(&self) -> u64 {
        let mut m = self.measured.lock().expect("usage");
        let fresh = m.is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(1));
        if !fresh || self.stale.swap(false, Ordering::Relaxed) {
            *m = Some((Instant::now(), size_of(&self.root, &self.root.join("tmp"))));
        }
        m.map_or(0, |(_, b)| b)
    }
}

/// Bytes of the files under `dir`, but those under `skip` (bodies and runs in
/// flight, counted as they arrive).
fn size_of(dir: &Path, skip: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        let p = e.path();
        if p == skip {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => total += size_of(&p, skip),
            Ok(_) => total += e.metadata().map_or(0, |m| m.len()),
            Err(_) => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_past_the_cap_are_refused_and_files_count() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b/x")).unwrap();
        std::fs::write(d.path().join("b/x/o"), vec![0u8; 600]).unwrap();
        std::fs::create_dir_all(d.path().join("tmp")).unwrap();
        std::fs::write(d.path().join("tmp/in-flight"), vec![0u8; 5000]).unwrap();
        let u = Usage::new(d.path(), Some(1000));
        u.receive(300).unwrap();
        let why = u.receive(200).unwrap_err();
        assert!(why.contains("600 held and 300 arriving"), "{why}");
        u.received(300);
        std::fs::remove_file(d.path().join("b/x/o")).unwrap();
        u.changed();
        u.receive(900).unwrap();
        assert!(Usage::new(d.path(), None).receive(1 << 40).is_ok());
    }
}
