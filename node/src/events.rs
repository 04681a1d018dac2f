//! Feedback to the instrument: one JSON line per processed object, kept per
//! bucket in `events.ndjson` (so a client that connects late, or after a
//! restart, can ask from any position) and pushed to every follower as it is
//! appended.

use bytes::Bytes;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One bucket's events.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    lines: Mutex<Vec<Arc<str>>>,
    notify: tokio::sync::Notify,
}

impl Log {
    /// Appends an event (its `seq`, the position, is set here); gives its position.
    pub fn append(
        &self,
        mut event: serde_json::Map<String, serde_json::Value>,
    ) -> std::io::Result<u64> {
        let mut lines = self.lines.lock().expect("events lock");
        let seq = lines.len() as u64;
        event.insert("seq".into(), seq.into());
        let line = serde_json::Value::Object(event).to_string();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(format!("{line}\n").as_bytes())?;
        f.sync_data()?;
        lines.push(line.into());
        drop(lines);
        self.notify.notify_waiters();
        Ok(seq)
    }

    /// The events from position `from` on.
    pub fn since(&self, from: u64) -> Vec<Arc<str>> {
        let lines = self.lines.lock().expect("events lock");
        lines
            .get(from as usize..)
            .map(|l| l.to_vec())
            .unwrap_or_default()
    }

    /// Events from `from` on as newline-delimited JSON chunks; with `follow`,
    /// waits for new ones until `closing` says the node stops.
    pub fn stream(
        self: Arc<Self>,
        from: u64,
        follow: bool,
        closing: tokio::sync::watch::Receiver<bool>,
    ) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static {
        futures::stream::unfold(
            (self, from, closing),
            move |(log, pos, mut closing)| async move {
                loop {
                    let waiter = log.clone();
                    let notified = waiter.notify.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    let new = log.since(pos);
                    if !new.is_empty() {
                        let mut chunk = String::new();
                        for l in &new {
                            chunk.push_str(l);
                            chunk.push('\n');
                        }
                        let next = pos + new.len() as u64;
                        return Some((Ok(Bytes::from(chunk)), (log, next, closing)));
                    }
                    if !follow || *closing.borrow() {
                        return None;
                    }
                    tokio::select! {
                        () = &mut notified => {}
                        _ = closing.changed() => {}
                    }
                }
            },
        )
    }
}

/// Every bucket's events.
#[derive(Debug, Default)]
pub struct Events {
    logs: Mutex<HashMap<PathBuf, Arc<Log>>>,
}

impl Events {
    /// The log kept in `dir` (a bucket's directory), loaded on first use.
    pub fn log(&self, dir: PathBuf) -> std::io::Result<Arc<Log>> {
        let path = dir.join("events.ndjson");
        let mut logs = self.logs.lock().expect("events lock");
        if let Some(l) = logs.get(&path) {
            return Ok(l.clone());
        }
        let mut lines = Vec::new();
        match std::fs::read(&path) {
            Ok(bytes) => {
                // a line a crash cut short is not an event: cut it off
                let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                if whole < bytes.len() {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)?
                        .set_len(whole as u64)?;
                }
                for l in bytes[..whole].lines() {
                    lines.push(Arc::from(l?.as_str()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let l = Arc::new(Log {
            path: path.clone(),
            lines: Mutex::new(lines),
            notify: tokio::sync::Notify::new(),
        });
        logs.insert(path, l.clone());
        Ok(l)
    }

    /// Forgets a bucket's log (the bucket was deleted).
    pub fn forget(&self, dir: PathBuf) {
        self.logs
            .lock()
            .expect("events lock")
            .remove(&dir.join("events.ndjson"));
    }
}

/// An event carries each frame's scalar outputs inline for objects of at most
/// this many frames; a larger object's event carries a summary of each instead
/// (every value is in its results), so that a line stays small enough for a
/// follower on a slow link.
pub const INLINE_FRAMES: usize = 1000;

/// A scalar output's values over an object's frames: for bools, how many are
/// true; for numbers, the least, the greatest and (for integers) the sum.
pub(crate) fn summary(values: &[serde_json::Value]) -> serde_json::Value {
    use serde_json::{json, Value};
    if values.iter().all(Value::is_boolean) {
        let n = values.iter().filter(|v| v.as_bool() == Some(true)).count();
        return json!({ "true": n, "false": values.len() - n });
    }
    let ints: Option<Vec<i128>> = values
        .iter()
        .map(|v| {
            v.as_i64()
                .map(i128::from)
                .or_else(|| v.as_u64().map(i128::from))
        })
        .collect();
    match ints {
        Some(x) => {
            let sum: i128 = x.iter().sum();
            let num = |v: i128| {
                i64::try_from(v).map_or_else(
                    |_| u64::try_from(v).map_or(Value::Null, Value::from),
                    Value::from,
                )
            };
            json!({
                "min": num(x.iter().copied().min().unwrap_or(0)),
                "max": num(x.iter().copied().max().unwrap_or(0)),
                "sum": num(sum),
            })
        }
        None => {
            let f: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
            json!({
                "min": f.iter().copied().fold(f64::INFINITY, f64::min),
                "max": f.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            })
        }
    }
}
