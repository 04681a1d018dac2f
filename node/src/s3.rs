//! The S3 face of the node (on the `s3s` crate): buckets and objects in the
//! buffer, and the kernel run on data objects as their bodies arrive.
//!
//! A `PUT` of a data object into a bucket with a kernel streams the body to a
//! temporary file (for durability) and, chunk by chunk, to a worker thread that
//! runs the frames through the bucket's kernel in an emulated slot. Only when
//! the body is complete, the run has succeeded and every file is fsynced are
//! the results (`.hiss/out/KEY/out.npy`, ...) and the object (its kept frames,
//! with `hiss-keep`) committed, the event appended and the request answered: a
//! refused object, or a client that goes away mid-body, leaves nothing behind.

use crate::events::Events;
use crate::flush::Signal;
use crate::kernel::{self, Attached, ChannelReader, RunOutput};
use crate::metrics::Metrics;
use crate::store::{ObjectMeta, Store, StoreError};
use crate::tier::Tier;
use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use s3s::checksum::ChecksumHasher;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result, S3};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

/// The key a kernel is attached by.
pub const KERNEL_KEY: &str = ".hiss/kernel.hbx";
/// The prefix of the kernel's fixed array inputs.
pub const INPUT_PREFIX: &str = ".hiss/in/";
/// The prefix of results.
pub const OUTPUT_PREFIX: &str = ".hiss/out/";
/// The kernel's states: `.hiss/state/NAME.npy` (zeros when absent; written by
/// the node after each object, or by a client to set them).
pub const STATE_PREFIX: &str = ".hiss/state/";

/// What the node bounds.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest object (or multipart part) body, in bytes.
    pub max_object_bytes: u64,
    /// Uploads (PUTs and parts) received at once; more are answered `SlowDown`.
    pub max_uploads: usize,
}

/// The node's state.
pub struct Node {
    /// The buffer.
    pub store: Arc<Store>,
    /// Each bucket's kernel.
    kernels: Mutex<HashMap<String, Arc<Attached>>>,
    /// Each bucket's events.
    pub events: Arc<Events>,
    /// Counters for `/_hiss/v1/metrics`.
    pub metrics: Arc<Metrics>,
    limits: Limits,
    uploads: Arc<tokio::sync::Semaphore>,
    /// The persistent tier.
    pub tier: Arc<dyn Tier>,
    /// Wakes the flusher after a commit.
    pub flush: Arc<Signal>,
    /// Per bucket: held while an object runs through a kernel with states, so
    /// the objects of a bucket carry the states in the order they arrive.
    state_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("root", &self.store.root())
            .finish()
    }
}

fn store_error(e: StoreError) -> S3Error {
    match e {
        StoreError::NoBucket => s3_error!(NoSuchBucket),
        StoreError::NoKey => s3_error!(NoSuchKey),
        StoreError::BucketExists => s3_error!(BucketAlreadyOwnedByYou),
        StoreError::BucketNotEmpty => s3_error!(BucketNotEmpty),
        StoreError::BadName(why) => s3_error!(InvalidBucketName, "{why}"),
        StoreError::Io(e) => {
            tracing::error!(error = %e, "buffer i/o failed");
            s3_error!(InternalError, "the node's buffer failed: {e}")
        }
    }
}

fn internal(e: impl std::fmt::Display) -> S3Error {
    tracing::error!(error = %e, "internal error");
    s3_error!(InternalError, "{e}")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64))
}

fn hex(bytes: &[u8]) -> String {
    hex_simd::encode_to_string(bytes, hex_simd::AsciiCase::Lower)
}

/// User metadata with lower-case names, sorted.
fn user_metadata(m: Option<Metadata>) -> BTreeMap<String, String> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// A body received into a temporary file.
struct Received {
    tmp: PathBuf,
    size: u64,
    md5: String,
    checksums: BTreeMap<String, String>,
}

/// An object's bytes: a buffer file, or a blocking reader from the tier.
enum Reader {
    File(tokio::fs::File),
    Blocking(Box<dyn std::io::Read + Send>),
}

type ByteStream = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static>,
>;

impl Reader {
    /// The bytes from `start`, `len` of them, as a response body.
    async fn stream(self, start: u64, len: u64) -> S3Result<ByteStream> {
        match self {
            Reader::File(mut f) => {
                if start > 0 {
                    use tokio::io::AsyncSeekExt;
                    f.seek(std::io::SeekFrom::Start(start))
                        .await
                        .map_err(internal)?;
                }
                Ok(Box::pin(futures::stream::unfold(
                    (f, len),
                    |(mut f, left)| async move {
                        use tokio::io::AsyncReadExt;
                        if left == 0 {
                            return None;
                        }
                        let mut buf = vec![0u8; (left as usize).min(1 << 16)];
                        match f.read(&mut buf).await {
                            Ok(0) => Some((
                                Err(std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "object shorter than its metadata",
                                )),
                                (f, 0),
                            )),
                            Ok(n) => {
                                buf.truncate(n);
                                Some((Ok(Bytes::from(buf)), (f, left - n as u64)))
                            }
                            Err(e) => Some((Err(e), (f, 0))),
                        }
                    },
                )))
            }
            Reader::Blocking(mut r) => {
                // a thread reads the tier's stream into a channel
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
                tokio::task::spawn_blocking(move || {
                    let mut skip = start;
                    let mut left = len;
                    let mut buf = vec![0u8; 1 << 16];
                    while left > 0 {
                        let want = if skip > 0 {
                            (skip as usize).min(buf.len())
                        } else {
                            (left as usize).min(buf.len())
                        };
                        match r.read(&mut buf[..want]) {
                            Ok(0) => {
                                let _ = tx.blocking_send(Err(std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "the tier's object is shorter than its metadata",
                                )));
                                return;
                            }
                            Ok(n) if skip > 0 => skip -= n as u64,
                            Ok(n) => {
                                left -= n as u64;
                                if tx
                                    .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                                    .is_err()
                                {
                                    return;
                                }
                            }
                            Err(e) => {
                                let _ = tx.blocking_send(Err(e));
                                return;
                            }
                        }
                    }
                });
                Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|item| (item, rx))
                })))
            }
        }
    }
}

impl Node {
    /// A node over `store`; re-attaches every bucket's kernel from its
    /// `.hiss/kernel.hbx`.
    pub fn new(store: Store, limits: Limits, tier: Arc<dyn Tier>) -> Result<Node, String> {
        let node = Node {
            tier,
            flush: Arc::new(Signal::default()),
            store: Arc::new(store),
            kernels: Mutex::new(HashMap::new()),
            events: Arc::new(Events::default()),
            metrics: Arc::new(Metrics::default()),
            uploads: Arc::new(tokio::sync::Semaphore::new(limits.max_uploads)),
            limits,
            state_locks: Mutex::new(HashMap::new()),
        };
        node.recover()?;
        for b in node.store.buckets().map_err(|e| e.to_string())? {
            if let Ok((m, path)) = node.store.get(&b, KERNEL_KEY) {
                let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
                match kernel::attach(&bytes, &m.metadata) {
                    Ok(k) => {
                        tracing::info!(bucket = %b, kernel = %k.bundle.manifest.kernel, "kernel attached");
                        node.kernels.lock().expect("kernels").insert(b, Arc::new(k));
                    }
                    Err(e) => {
                        tracing::error!(bucket = %b, error = %e, "stored kernel does not attach")
                    }
                }
            }
        }
        Ok(node)
    }

    /// Repairs what a crash interrupted between a run's commits: a run whose
    /// object is there (or that stores none) gets its event; one whose object
    /// never arrived (it was not acknowledged) loses its results.
    fn recover(&self) -> Result<(), String> {
        for b in self.store.buckets().map_err(|e| e.to_string())? {
            let results = self
                .store
                .list(&b, OUTPUT_PREFIX)
                .map_err(|e| e.to_string())?;
            for r in results.iter().filter(|r| r.pending_event.is_some()) {
                let ev = r.pending_event.clone().expect("filtered");
                let key = ev
                    .get("key")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_string();
                let stored = ev.get("stored").and_then(|s| s.as_bool()).unwrap_or(true);
                let object_there = self.store.get(&b, &key).is_ok_and(|(m, _)| m.run == r.run);
                if !stored || object_there {
                    let log = self
                        .events
                        .log(self.store.bucket_path(&b).map_err(|e| e.to_string())?)
                        .map_err(|e| e.to_string())?;
                    // the crash may have come after the event, before its mark was cleared
                    let run = ev.get("run").cloned();
                    let logged = log.since(0).iter().rev().any(|l| {
                        serde_json::from_str::<serde_json::Value>(l)
                            .is_ok_and(|e| e.get("run") == run.as_ref())
                    });
                    if !logged {
                        log.append(ev).map_err(|e| e.to_string())?;
                    }
                    self.store
                        .clear_pending(&b, &r.key)
                        .map_err(|e| e.to_string())?;
                    tracing::info!(bucket = %b, key, "event recovered");
                } else {
                    for other in results.iter().filter(|o| o.run == r.run) {
                        self.store
                            .delete(&b, &other.key)
                            .map_err(|e| e.to_string())?;
                    }
                    tracing::info!(bucket = %b, key, "results of an unacknowledged object removed");
                }
            }
        }
        Ok(())
    }

    fn kernel(&self, bucket: &str) -> Option<Arc<Attached>> {
        self.kernels.lock().expect("kernels").get(bucket).cloned()
    }

    /// Receives a body into a temporary file (fsynced), forwarding each chunk to
    /// `tx` while it listens. A body larger than the limit, or one that breaks
    /// off, leaves no file.
    async fn receive(
        &self,
        body: StreamingBlob,
        tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
        checks: Checks,
    ) -> S3Result<Received> {
        let tmp = self.store.tmp_path();
        let result = self.receive_into(&tmp, body, tx, checks).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn receive_into(
        &self,
        tmp: &Path,
        mut body: StreamingBlob,
        mut tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
        mut checks: Checks,
    ) -> S3Result<Received> {
        // buffered: every write to a tokio file is a trip to a blocking thread
        let mut f = tokio::io::BufWriter::with_capacity(
            1 << 20,
            tokio::fs::File::create(tmp).await.map_err(internal)?,
        );
        let mut h = Md5::new();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::warn!(error = %e, "body broke off");
                s3_error!(IncompleteBody, "the body broke off: {e}")
            })?;
            size += chunk.len() as u64;
            if size > self.limits.max_object_bytes {
                return Err(s3_error!(
                    EntityTooLarge,
                    "the body is larger than this node takes ({} bytes)",
                    self.limits.max_object_bytes
                ));
            }
            h.update(&chunk);
            checks.hasher.update(&chunk);
            f.write_all(&chunk).await.map_err(internal)?;
            if let Some(t) = &tx {
                // the worker may have stopped (a malformed object): keep receiving
                if t.send(chunk).await.is_err() {
                    tx = None;
                }
            }
        }
        f.flush().await.map_err(internal)?;
        f.get_ref().sync_all().await.map_err(internal)?;
        let md5 = h.finalize();
        let checksums = checks.finish(&md5)?;
        Ok(Received {
            tmp: tmp.to_path_buf(),
            size,
            md5: hex(&md5),
            checksums,
        })
    }

    /// Commits a file as an object (blocking file system work off the runtime).
    async fn commit(&self, bucket: &str, tmp: PathBuf, meta: ObjectMeta) -> S3Result<ObjectMeta> {
        let store = self.store.clone();
        let bucket = bucket.to_string();
        let m = tokio::task::spawn_blocking(move || store.commit(&bucket, &tmp, meta))
            .await
            .map_err(internal)?
            .map_err(store_error)?;
        self.flush.wake();
        Ok(m)
    }

    /// Removes an object from the buffer and from the persistent tier.
    async fn remove_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        let store = self.store.clone();
        let (b, k) = (bucket.to_string(), key.to_string());
        tokio::task::spawn_blocking(move || store.delete(&b, &k))
            .await
            .map_err(internal)?
            .map_err(store_error)?;
        let tier = self.tier.clone();
        let (b, k) = (bucket.to_string(), key.to_string());
        tokio::task::spawn_blocking(move || tier.delete(&b, &k))
            .await
            .map_err(internal)?
            .map_err(|e| s3_error!(ServiceUnavailable, "the persistent tier: {e}"))
    }

    /// An object's metadata and bytes: from the buffer, or from the tier when
    /// the buffer has flushed and evicted it, or never had it (another node's).
    async fn open(&self, bucket: &str, key: &str) -> S3Result<(ObjectMeta, Reader)> {
        let local = match self.store.get(bucket, key) {
            Ok((m, path)) if !m.data.is_empty() => {
                let f = tokio::fs::File::open(&path).await.map_err(internal)?;
                return Ok((m, Reader::File(f)));
            }
            Ok((m, _)) => Some(m),
            Err(StoreError::NoKey) => None,
            Err(e) => return Err(store_error(e)),
        };
        let tier = self.tier.clone();
        let (b, k) = (bucket.to_string(), key.to_string());
        let found = tokio::task::spawn_blocking(move || tier.get(&b, &k))
            .await
            .map_err(internal)?
            .map_err(|e| s3_error!(ServiceUnavailable, "the persistent tier: {e}"))?;
        match found {
            Some((tm, r)) => Ok((
                local.map_or(tm.clone(), |m| ObjectMeta { size: tm.size, ..m }),
                Reader::Blocking(r),
            )),
            None => Err(s3_error!(NoSuchKey)),
        }
    }

    /// Opens the kernel's fixed inputs (`.hiss/in/NAME.npy`) of a bucket.
    fn fixed_inputs(&self, bucket: &str, k: &Attached) -> S3Result<Vec<(String, std::fs::File)>> {
        k.fixed_inputs
            .iter()
            .map(|name| {
                let key = format!("{INPUT_PREFIX}{name}.npy");
                let (_, path) = self.store.get(bucket, &key).map_err(|_| {
                    s3_error!(
                        InvalidRequest,
                        "kernel `{}` takes input `{name}` from the object `{key}`, which bucket `{bucket}` does not have",
                        k.bundle.manifest.kernel
                    )
                })?;
                let f = std::fs::File::open(path).map_err(internal)?;
                Ok((name.clone(), f))
            })
            .collect()
    }

    /// The states an object of `bucket` starts from: `.hiss/state/NAME.npy`
    /// (the kernel's dtype and shape), zeros for a state without one.
    async fn read_states(&self, bucket: &str, k: &Attached) -> S3Result<Vec<Vec<i128>>> {
        let mut out = Vec::new();
        for p in &k.states {
            let key = format!("{STATE_PREFIX}{}.npy", p.name);
            let bytes = match self.open(bucket, &key).await {
                Ok((m, reader)) => {
                    let mut stream = reader.stream(0, m.size).await?;
                    let mut bytes = Vec::with_capacity(m.size as usize);
                    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
                        bytes.extend_from_slice(&chunk.map_err(internal)?);
                    }
                    bytes
                }
                Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchKey => {
                    out.push(vec![0; p.ty.numel()]);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let a = hiss_runtime::npy::from_bytes(&bytes, &key).map_err(|e| {
                s3_error!(
                    InvalidRequest,
                    "the state object `{key}` is not an .npy: {e}"
                )
            })?;
            if a.dtype != p.ty.dtype || a.shape != p.ty.shape {
                return Err(s3_error!(
                    InvalidRequest,
                    "the state object `{key}` is {} of shape {:?}; kernel `{}` keeps {} of shape {:?}",
                    a.dtype.numpy_name(),
                    a.shape,
                    k.bundle.manifest.kernel,
                    p.ty.dtype.numpy_name(),
                    p.ty.shape
                ));
            }
            out.push(a.data);
        }
        Ok(out)
    }

    /// Commits the states an object left (written by its run) as `.hiss/state/NAME.npy`.
    async fn commit_states(
        &self,
        bucket: &str,
        states: &[(String, PathBuf, kernel::Written)],
    ) -> S3Result<()> {
        for (name, path, written) in states {
            let key = format!("{STATE_PREFIX}{name}");
            let meta = ObjectMeta {
                size: written.size,
                etag: written.md5.clone(),
                content_type: Some("application/octet-stream".into()),
                modified: now(),
                ..ObjectMeta::empty(&key)
            };
            self.commit(bucket, path.clone(), meta).await?;
        }
        Ok(())
    }

    /// Starts the kernel's run of one object on a worker thread: it reads the
    /// body from the returned sender's chunks (or from `file`).
    #[allow(clippy::type_complexity)]
    fn start_run(
        &self,
        bucket: &str,
        k: Arc<Attached>,
        len: u64,
        file: Option<std::fs::File>,
        states: Vec<Vec<i128>>,
    ) -> S3Result<(
        Option<tokio::sync::mpsc::Sender<Bytes>>,
        tokio::task::JoinHandle<Result<RunOutput, String>>,
        PathBuf,
    )> {
        let fixed = self.fixed_inputs(bucket, &k)?;
        let dir = self.store.tmp_path();
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let at = dir.clone();
        let (tx, handle) = match file {
            Some(f) => (
                None,
                tokio::task::spawn_blocking(move || {
                    kernel::run_object(&k, std::io::BufReader::new(f), len, fixed, states, &at)
                }),
            ),
            None => {
                let (tx, rx) = tokio::sync::mpsc::channel(16);
                (
                    Some(tx),
                    tokio::task::spawn_blocking(move || {
                        kernel::run_object(&k, ChannelReader::new(rx), len, fixed, states, &at)
                    }),
                )
            }
        };
        Ok((tx, handle, dir))
    }

    /// After a body is in and the kernel's run is done: commits the results and
    /// the object (its kept frames), appends the event. Cleans up on failure.
    #[allow(clippy::too_many_arguments)]
    async fn finish_run(
        &self,
        bucket: &str,
        key: &str,
        k: &Attached,
        got: Received,
        run: Result<RunOutput, String>,
        dir: PathBuf,
        meta: ObjectMeta,
        started: std::time::Instant,
    ) -> S3Result<ObjectMeta> {
        let cleanup = |tmp: &Path, dir: &Path| {
            let _ = std::fs::remove_file(tmp);
            let _ = std::fs::remove_dir_all(dir);
        };
        let out = match run {
            Ok(out) => out,
            Err(why) => {
                cleanup(&got.tmp, &dir);
                self.metrics.refused();
                return Err(s3_error!(
                    InvalidArgument,
                    "object `{key}` is refused: {why}"
                ));
            }
        };
        let kernel_time = started.elapsed();
        let frames = out.frames;
        let kept = out
            .keep
            .as_ref()
            .map_or(frames, |k| k.iter().filter(|&&x| x).count());
        // the event for the instrument
        let run: String = self
            .store
            .tmp_path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut ev = serde_json::Map::new();
        ev.insert("key".into(), key.into());
        ev.insert("run".into(), run.clone().into());
        ev.insert("frames".into(), frames.into());
        ev.insert("kept".into(), kept.into());
        ev.insert("stored".into(), (kept > 0).into());
        ev.insert("bytes".into(), got.size.into());
        let outputs: serde_json::Map<String, serde_json::Value> = out
            .scalars
            .into_iter()
            .map(|(n, v)| (n, serde_json::Value::Array(v)))
            .collect();
        ev.insert("outputs".into(), outputs.into());
        // results first (the first carries the event until it is in the log),
        // then the object, then the event: a crash anywhere is repaired at the
        // next start (see `Node::recover`)
        let mut first_result = None;
        for (i, (name, path, written)) in out.files.iter().enumerate() {
            let rkey = format!("{OUTPUT_PREFIX}{key}/{name}");
            let rmeta = ObjectMeta {
                size: written.size,
                etag: written.md5.clone(),
                content_type: Some("application/octet-stream".into()),
                run: Some(run.clone()),
                pending_event: (i == 0).then(|| ev.clone()),
                ..ObjectMeta::empty(&rkey)
            };
            self.commit(bucket, path.clone(), rmeta).await?;
            first_result.get_or_insert(rkey);
        }
        let meta = ObjectMeta {
            run: Some(run.clone()),
            ..meta
        };
        let stored = if kept == 0 {
            let _ = std::fs::remove_file(&got.tmp);
            // an earlier object of this key is replaced by nothing: the last
            // acknowledged PUT decides what the key holds, in the buffer and
            // in the tier (which a GET falls back to)
            self.remove_object(bucket, key).await?;
            None
        } else if kept < frames {
            let keep = out
                .keep
                .clone()
                .expect("kept < frames only with a keep output");
            let filtered = self.store.tmp_path();
            let (src, dst, npy) = (got.tmp.clone(), filtered.clone(), out.npy);
            let ndim = k.bundle.manifest.inputs[0].shape.len();
            let written = tokio::task::spawn_blocking(move || {
                kernel::write_kept(&src, &dst, npy, &keep, ndim)
            })
            .await
            .map_err(internal)?
            .map_err(internal)?;
            let _ = std::fs::remove_file(&got.tmp);
            Some(
                self.commit(
                    bucket,
                    filtered,
                    ObjectMeta {
                        size: written.size,
                        etag: written.md5,
                        ..meta
                    },
                )
                .await?,
            )
        } else {
            let whole = ObjectMeta {
                size: got.size,
                etag: got.md5.clone(),
                checksums: got.checksums.clone(),
                ..meta
            };
            Some(self.commit(bucket, got.tmp.clone(), whole).await?)
        };
        // the states the object left, before the event says it is done
        self.commit_states(bucket, &out.states).await?;
        let _ = std::fs::remove_dir_all(&dir);
        let dir_b = self.store.bucket_path(bucket).map_err(store_error)?;
        let log = self.events.log(dir_b).map_err(internal)?;
        let seq = log.append(ev).map_err(internal)?;
        if let Some(r) = first_result {
            self.store.clear_pending(bucket, &r).map_err(store_error)?;
        }
        self.metrics
            .object(got.size, frames as u64, kept as u64, kernel_time);
        tracing::info!(bucket, key, frames, kept, seq, "object processed");
        Ok(stored.unwrap_or(ObjectMeta {
            size: got.size,
            etag: got.md5,
            ..ObjectMeta::empty(key)
        }))
    }

    /// Takes a complete body (a PUT, or an assembled multipart upload): attaches
    /// a kernel, runs one, or stores it as it is.
    async fn ingest(
        &self,
        bucket: &str,
        key: &str,
        source: Source,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> S3Result<ObjectMeta> {
        if !self.store.has_bucket(bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        if key.starts_with(OUTPUT_PREFIX) {
            return Err(s3_error!(
                InvalidRequest,
                "keys under `{OUTPUT_PREFIX}` are the kernel's results, written by the node"
            ));
        }
        let meta = ObjectMeta {
            content_type,
            metadata,
            modified: now(),
            ..ObjectMeta::empty(key)
        };
        let attached = if key.starts_with(".hiss/") {
            None
        } else {
            self.kernel(bucket)
        };
        let Some(k) = attached else {
            let got = match source {
                Source::Body(b, _, checks) => self.receive(b, None, *checks).await?,
                Source::File(r) => r,
            };
            let is_kernel = key == KERNEL_KEY;
            if is_kernel {
                let bytes = std::fs::read(&got.tmp).map_err(internal)?;
                match kernel::attach(&bytes, &meta.metadata) {
                    Ok(k) => {
                        let m = self
                            .commit(
                                bucket,
                                got.tmp,
                                ObjectMeta {
                                    size: got.size,
                                    etag: got.md5,
                                    ..meta
                                },
                            )
                            .await?;
                        tracing::info!(bucket, kernel = %k.bundle.manifest.kernel, "kernel attached");
                        self.kernels
                            .lock()
                            .expect("kernels")
                            .insert(bucket.to_string(), Arc::new(k));
                        return Ok(m);
                    }
                    Err(why) => {
                        let _ = std::fs::remove_file(&got.tmp);
                        tracing::warn!(bucket, error = %why, "kernel refused");
                        return Err(s3_error!(
                            InvalidArgument,
                            "the kernel is refused (the previous one stays): {why}"
                        ));
                    }
                }
            }
            self.metrics
                .object(got.size, 0, 0, std::time::Duration::ZERO);
            return self
                .commit(
                    bucket,
                    got.tmp,
                    ObjectMeta {
                        size: got.size,
                        etag: got.md5,
                        checksums: got.checksums,
                        ..meta
                    },
                )
                .await;
        };
        // a kernel with states runs a bucket's objects one at a time, in the
        // order they arrive, each from the states the previous one left
        let _turn = if k.states.is_empty() {
            None
        } else {
            let lock = self
                .state_locks
                .lock()
                .expect("state locks")
                .entry(bucket.to_string())
                .or_default()
                .clone();
            Some(lock.lock_owned().await)
        };
        let states = self.read_states(bucket, &k).await?;
        let started = std::time::Instant::now();
        let (got, run, dir) = match source {
            Source::Body(b, len, checks) => {
                let len = len.unwrap_or(0);
                let (tx, handle, dir) = self.start_run(bucket, k.clone(), len, None, states)?;
                let got = self.receive(b, tx, *checks).await;
                // the worker ends once the sender is gone (whole body or not)
                let run = handle.await;
                match (got, run) {
                    (Ok(got), Ok(run)) => (got, run, dir),
                    (got, run) => {
                        let _ = std::fs::remove_dir_all(&dir);
                        got?;
                        return Err(internal(run.expect_err("one of the two failed")));
                    }
                }
            }
            Source::File(r) => {
                let f = std::fs::File::open(&r.tmp).map_err(internal)?;
                let (_, handle, dir) =
                    self.start_run(bucket, k.clone(), r.size, Some(f), states)?;
                let run = handle.await.map_err(internal)?;
                (r, run, dir)
            }
        };
        self.finish_run(bucket, key, &k, got, run, dir, meta, started)
            .await
    }
}

/// Where an object's bytes come from.
enum Source {
    /// A request body, as it arrives, its length when the request gave it, and
    /// the checksums to check.
    Body(StreamingBlob, Option<u64>, Box<Checks>),
    /// A file already received (an assembled multipart upload).
    File(Received),
}

/// The checksums a client asked for, and the values it gave (in headers, or
/// in trailers that arrive after the body).
#[derive(Default)]
struct Checks {
    hasher: ChecksumHasher,
    want: Checksum,
    content_md5: Option<String>,
    trailers: Option<s3s::TrailingHeaders>,
}

/// The algorithms of a checksum set, with their S3 names.
fn checksum_fields(c: &Checksum) -> [(&'static str, &Option<String>); 5] {
    [
        ("crc32", &c.checksum_crc32),
        ("crc32c", &c.checksum_crc32c),
        ("sha1", &c.checksum_sha1),
        ("sha256", &c.checksum_sha256),
        ("crc64nvme", &c.checksum_crc64nvme),
    ]
}

impl Checks {
    #[allow(clippy::too_many_arguments)]
    fn new(
        algorithm: Option<&ChecksumAlgorithm>,
        crc32: Option<String>,
        crc32c: Option<String>,
        sha1: Option<String>,
        sha256: Option<String>,
        crc64nvme: Option<String>,
        content_md5: Option<String>,
        trailers: Option<s3s::TrailingHeaders>,
    ) -> S3Result<Checks> {
        let mut c = Checks {
            want: Checksum {
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_crc64nvme: crc64nvme,
                ..Default::default()
            },
            content_md5,
            trailers,
            ..Default::default()
        };
        let mut names: Vec<&str> = checksum_fields(&c.want)
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| *n)
            .collect();
        if let Some(a) = algorithm {
            names.push(match a.as_str() {
                ChecksumAlgorithm::CRC32 => "crc32",
                ChecksumAlgorithm::CRC32C => "crc32c",
                ChecksumAlgorithm::SHA1 => "sha1",
                ChecksumAlgorithm::SHA256 => "sha256",
                ChecksumAlgorithm::CRC64NVME => "crc64nvme",
                other => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "checksum algorithm `{other}` is not one S3 has"
                    ))
                }
            });
        }
        for n in names {
            match n {
                "crc32" => c.hasher.crc32 = Some(Default::default()),
                "crc32c" => c.hasher.crc32c = Some(Default::default()),
                "sha1" => c.hasher.sha1 = Some(Default::default()),
                "sha256" => c.hasher.sha256 = Some(Default::default()),
                _ => c.hasher.crc64nvme = Some(Default::default()),
            }
        }
        Ok(c)
    }

    /// After the body: the checksums computed, checked against what the client
    /// gave (BadDigest if one differs).
    fn finish(self, md5: &[u8]) -> S3Result<BTreeMap<String, String>> {
        if let Some(want) = &self.content_md5 {
            let got = base64_simd::STANDARD.encode_to_string(md5);
            if want.trim() != got {
                return Err(s3_error!(
                    BadDigest,
                    "Content-MD5 is {want}, the body's is {got}"
                ));
            }
        }
        let mut want = self.want;
        if let Some(h) = self.trailers.as_ref().and_then(|t| t.take()) {
            let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
            want.checksum_crc32 = want.checksum_crc32.or(get("x-amz-checksum-crc32"));
            want.checksum_crc32c = want.checksum_crc32c.or(get("x-amz-checksum-crc32c"));
            want.checksum_sha1 = want.checksum_sha1.or(get("x-amz-checksum-sha1"));
            want.checksum_sha256 = want.checksum_sha256.or(get("x-amz-checksum-sha256"));
            want.checksum_crc64nvme = want.checksum_crc64nvme.or(get("x-amz-checksum-crc64nvme"));
        }
        let got = self.hasher.finalize();
        let mut out = BTreeMap::new();
        for ((name, w), (_, g)) in checksum_fields(&want)
            .into_iter()
            .zip(checksum_fields(&got))
        {
            if let (Some(w), Some(g)) = (w, g) {
                if w != g {
                    return Err(s3_error!(
                        BadDigest,
                        "the {name} checksum given is {w}, the body's is {g}"
                    ));
                }
            }
            if let Some(g) = g {
                out.insert(name.to_string(), g.clone());
            }
        }
        Ok(out)
    }
}

/// A stored checksum set as S3's output fields.
fn checksum_of(m: &BTreeMap<String, String>) -> Checksum {
    Checksum {
        checksum_crc32: m.get("crc32").cloned(),
        checksum_crc32c: m.get("crc32c").cloned(),
        checksum_sha1: m.get("sha1").cloned(),
        checksum_sha256: m.get("sha256").cloned(),
        checksum_crc64nvme: m.get("crc64nvme").cloned(),
        ..Default::default()
    }
}

/// A multipart upload in progress: its directory holds `upload.json` and one
/// file per part.
#[derive(serde::Serialize, serde::Deserialize)]
struct Upload {
    bucket: String,
    key: String,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    /// The checksum algorithm every part is checked with, if one was asked for.
    #[serde(default)]
    checksum_algorithm: Option<String>,
}

impl Node {
    fn upload_dir(&self, id: &str) -> S3Result<PathBuf> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(s3_error!(NoSuchUpload));
        }
        Ok(self.store.root().join("multipart").join(id))
    }

    fn upload(&self, id: &str, bucket: &str, key: &str) -> S3Result<(PathBuf, Upload)> {
        let dir = self.upload_dir(id)?;
        let text = std::fs::read(dir.join("upload.json")).map_err(|_| s3_error!(NoSuchUpload))?;
        let u: Upload = serde_json::from_slice(&text).map_err(internal)?;
        if u.bucket != bucket || u.key != key {
            return Err(s3_error!(NoSuchUpload));
        }
        Ok((dir, u))
    }
}

#[async_trait::async_trait]
impl S3 for Node {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.store
            .create_bucket(&req.input.bucket)
            .map_err(store_error)?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{}", req.input.bucket)),
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let b = &req.input.bucket;
        let dir = self.store.bucket_path(b).map_err(store_error)?;
        self.store.delete_bucket(b).map_err(store_error)?;
        self.events.forget(dir);
        self.kernels.lock().expect("kernels").remove(b);
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        if !self.store.has_bucket(&req.input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        if !self.store.has_bucket(&req.input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let mut buckets = Vec::new();
        for name in self.store.buckets().map_err(store_error)? {
            let created = std::fs::metadata(self.store.bucket_path(&name).map_err(store_error)?)
                .and_then(|m| m.modified())
                .ok()
                .map(Timestamp::from);
            buckets.push(Bucket {
                name: Some(name),
                creation_date: created,
                ..Default::default()
            });
        }
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                display_name: Some("hiss".into()),
                id: Some("hiss".into()),
            }),
            ..Default::default()
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        let _permit = self
            .uploads
            .clone()
            .try_acquire_owned()
            .map_err(|_| s3_error!(SlowDown, "too many uploads at once; try again"))?;
        if input.content_length.unwrap_or(0) as u64 > self.limits.max_object_bytes {
            return Err(s3_error!(
                EntityTooLarge,
                "the body is larger than this node takes ({} bytes)",
                self.limits.max_object_bytes
            ));
        }
        let body = input
            .body
            .ok_or_else(|| s3_error!(IncompleteBody, "no body"))?;
        let checks = Checks::new(
            input.checksum_algorithm.as_ref(),
            input.checksum_crc32,
            input.checksum_crc32c,
            input.checksum_sha1,
            input.checksum_sha256,
            input.checksum_crc64nvme,
            input.content_md5,
            req.trailing_headers,
        )?;
        let m = self
            .ingest(
                &input.bucket,
                &input.key,
                Source::Body(
                    body,
                    input.content_length.map(|l| l.max(0) as u64),
                    Box::new(checks),
                ),
                input.content_type.map(|c| c.to_string()),
                user_metadata(input.metadata),
            )
            .await?;
        let c = checksum_of(&m.checksums);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(m.etag)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let (m, reader) = self.open(&input.bucket, &input.key).await?;
        // S3 gives the checksums of whole objects, when asked
        let c = if input.range.is_none()
            && input
                .checksum_mode
                .as_ref()
                .is_some_and(|c| c.as_str() == ChecksumMode::ENABLED)
        {
            checksum_of(&m.checksums)
        } else {
            Checksum::default()
        };
        let (start, len, range) = match input.range {
            None => (0, m.size, None),
            Some(r) => {
                let r = r.check(m.size).map_err(|_| s3_error!(InvalidRange))?;
                let cr = format!("bytes {}-{}/{}", r.start, r.end - 1, m.size);
                (r.start, r.end - r.start, Some(cr))
            }
        };
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(reader.stream(start, len).await?)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            content_length: Some(len as i64),
            content_range: range,
            content_type: m.content_type.clone(),
            e_tag: Some(ETag::Strong(m.etag.clone())),
            last_modified: Some(timestamp(m.modified)),
            metadata: Some(m.metadata.clone().into_iter().collect()),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (m, _) = self.open(&req.input.bucket, &req.input.key).await?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(m.size as i64),
            content_type: m.content_type.clone(),
            e_tag: Some(ETag::Strong(m.etag.clone())),
            last_modified: Some(timestamp(m.modified)),
            metadata: Some(m.metadata.into_iter().collect()),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (b, k) = (&req.input.bucket, &req.input.key);
        self.remove_object(b, k).await?;
        if k == KERNEL_KEY {
            self.kernels.lock().expect("kernels").remove(b);
            tracing::info!(bucket = %b, "kernel detached");
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let i = req.input;
        let all = self
            .list_all(&i.bucket, i.prefix.as_deref().unwrap_or(""))
            .await?;
        let page = self.list_page(
            all,
            i.prefix.as_deref().unwrap_or(""),
            i.delimiter.as_deref(),
            i.marker.as_deref(),
            i.max_keys,
        )?;
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket),
            prefix: i.prefix,
            delimiter: i.delimiter,
            marker: i.marker,
            max_keys: Some(page.max_keys),
            is_truncated: Some(page.next.is_some()),
            next_marker: page.next,
            contents: Some(page.contents),
            common_prefixes: Some(page.prefixes),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        let after = i.continuation_token.as_deref().or(i.start_after.as_deref());
        let all = self
            .list_all(&i.bucket, i.prefix.as_deref().unwrap_or(""))
            .await?;
        let page = self.list_page(
            all,
            i.prefix.as_deref().unwrap_or(""),
            i.delimiter.as_deref(),
            after,
            i.max_keys,
        )?;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: i.prefix,
            delimiter: i.delimiter,
            max_keys: Some(page.max_keys),
            key_count: Some((page.contents.len() + page.prefixes.len()) as i32),
            continuation_token: i.continuation_token,
            start_after: i.start_after,
            is_truncated: Some(page.next.is_some()),
            next_continuation_token: page.next,
            contents: Some(page.contents),
            common_prefixes: Some(page.prefixes),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let i = req.input;
        let CopySource::Bucket {
            bucket: from_bucket,
            key: from_key,
            ..
        } = &i.copy_source
        else {
            return Err(s3_error!(NotImplemented, "copies from access points"));
        };
        if !self.store.has_bucket(&i.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        if i.key.starts_with(".hiss/") {
            return Err(s3_error!(
                InvalidRequest,
                "`.hiss/` objects are written by PUT (a kernel is attached by uploading its bundle)"
            ));
        }
        // a copy is not new data from the instrument: the kernel does not run on it
        let (m, reader) = self.open(from_bucket, from_key).await?;
        let tmp = self.store.tmp_path();
        let copied = async {
            let mut f = tokio::fs::File::create(&tmp).await.map_err(internal)?;
            let mut stream = reader.stream(0, m.size).await?;
            let mut h = Md5::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(internal)?;
                h.update(&chunk);
                f.write_all(&chunk).await.map_err(internal)?;
            }
            f.sync_all().await.map_err(internal)?;
            Ok::<_, S3Error>(hex(&h.finalize()))
        }
        .await;
        let md5 = match copied {
            Ok(md5) => md5,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let replace = i
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let meta = ObjectMeta {
            size: m.size,
            etag: md5,
            content_type: if replace {
                i.content_type.map(|c| c.to_string())
            } else {
                m.content_type.clone()
            },
            metadata: if replace {
                user_metadata(i.metadata)
            } else {
                m.metadata.clone()
            },
            checksums: m.checksums.clone(),
            ..ObjectMeta::empty(&i.key)
        };
        let m = self.commit(&i.bucket, tmp, meta).await?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(m.etag.clone())),
                last_modified: Some(timestamp(m.modified)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let i = req.input;
        if !self.store.has_bucket(&i.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        let id: String = self
            .store
            .tmp_path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = self.upload_dir(&id)?;
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let u = Upload {
            bucket: i.bucket.clone(),
            key: i.key.clone(),
            content_type: i.content_type.map(|c| c.to_string()),
            metadata: user_metadata(i.metadata),
            checksum_algorithm: i.checksum_algorithm.map(|a| a.as_str().to_string()),
        };
        std::fs::write(
            dir.join("upload.json"),
            serde_json::to_vec(&u).map_err(internal)?,
        )
        .map_err(internal)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let i = req.input;
        let _permit = self
            .uploads
            .clone()
            .try_acquire_owned()
            .map_err(|_| s3_error!(SlowDown, "too many uploads at once; try again"))?;
        let (dir, u) = self.upload(&i.upload_id, &i.bucket, &i.key)?;
        if !(1..=10000).contains(&i.part_number) {
            return Err(s3_error!(InvalidArgument, "part numbers are 1 to 10000"));
        }
        let body = i.body.ok_or_else(|| s3_error!(IncompleteBody, "no body"))?;
        let algorithm = i
            .checksum_algorithm
            .or_else(|| u.checksum_algorithm.map(ChecksumAlgorithm::from));
        let checks = Checks::new(
            algorithm.as_ref(),
            i.checksum_crc32,
            i.checksum_crc32c,
            i.checksum_sha1,
            i.checksum_sha256,
            i.checksum_crc64nvme,
            i.content_md5,
            req.trailing_headers,
        )?;
        let got = self.receive(body, None, checks).await?;
        let part = dir.join(format!("{}", i.part_number));
        std::fs::rename(&got.tmp, &part).map_err(internal)?;
        std::fs::write(dir.join(format!("{}.md5", i.part_number)), &got.md5).map_err(internal)?;
        let c = checksum_of(&got.checksums);
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(got.md5)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            ..Default::default()
        }))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let i = req.input;
        let (dir, _) = self.upload(&i.upload_id, &i.bucket, &i.key)?;
        let mut parts = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(internal)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(n) = name.parse::<i32>() {
                let md5 = std::fs::read_to_string(dir.join(format!("{n}.md5"))).unwrap_or_default();
                parts.push(Part {
                    part_number: Some(n),
                    size: e.metadata().ok().map(|m| m.len() as i64),
                    e_tag: Some(ETag::Strong(md5)),
                    ..Default::default()
                });
            }
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(i.upload_id),
            parts: Some(parts),
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let i = req.input;
        let (dir, _) = self.upload(&i.upload_id, &i.bucket, &i.key)?;
        std::fs::remove_dir_all(dir).map_err(internal)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let i = req.input;
        let (dir, u) = self.upload(&i.upload_id, &i.bucket, &i.key)?;
        let parts = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        if parts.is_empty() {
            return Err(s3_error!(MalformedXML, "no parts"));
        }
        // the parts in order into one file, with S3's multipart ETag
        let tmp = self.store.tmp_path();
        let (d, t) = (dir.clone(), tmp.clone());
        let numbers: Vec<(i32, Option<String>)> = parts
            .iter()
            .map(|p| {
                (
                    p.part_number.unwrap_or(0),
                    p.e_tag.as_ref().map(|e| match e {
                        ETag::Strong(s) | ETag::Weak(s) => s.clone(),
                    }),
                )
            })
            .collect();
        let assembled = tokio::task::spawn_blocking(move || -> S3Result<Received> {
            use std::io::Write;
            let mut out = std::fs::File::create(&t).map_err(internal)?;
            let mut whole = Md5::new();
            let mut size = 0;
            let mut last = 0;
            for (n, etag) in &numbers {
                if *n <= last {
                    return Err(s3_error!(InvalidPartOrder));
                }
                last = *n;
                let md5 = std::fs::read_to_string(d.join(format!("{n}.md5")))
                    .map_err(|_| s3_error!(InvalidPart, "part {n} was not uploaded"))?;
                if etag.as_deref().is_some_and(|e| e.trim_matches('"') != md5) {
                    return Err(s3_error!(InvalidPart, "part {n}'s ETag does not match"));
                }
                let mut raw = [0u8; 16];
                for (k, b) in raw.iter_mut().enumerate() {
                    *b = u8::from_str_radix(&md5[2 * k..2 * k + 2], 16).unwrap_or(0);
                }
                whole.update(raw);
                let mut p = std::fs::File::open(d.join(n.to_string())).map_err(internal)?;
                size += std::io::copy(&mut p, &mut out).map_err(internal)?;
            }
            out.flush().map_err(internal)?;
            out.sync_all().map_err(internal)?;
            Ok(Received {
                tmp: t,
                size,
                md5: format!("{}-{}", hex(&whole.finalize()), numbers.len()),
                checksums: BTreeMap::new(),
            })
        })
        .await
        .map_err(internal)?;
        let got = match assembled {
            Ok(g) => g,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let etag = got.md5.clone();
        let m = self
            .ingest(
                &u.bucket,
                &u.key,
                Source::File(got),
                u.content_type,
                u.metadata,
            )
            .await?;
        let _ = std::fs::remove_dir_all(&dir);
        // a kernel's filtering may have stored fewer bytes: its ETag is the stored one's
        let e = if m.etag.is_empty() { etag } else { m.etag };
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(u.bucket),
            key: Some(u.key),
            e_tag: Some(ETag::Strong(e)),
            ..Default::default()
        }))
    }
}

/// One page of a listing.
struct Page {
    contents: Vec<Object>,
    prefixes: Vec<CommonPrefix>,
    next: Option<String>,
    max_keys: i32,
}

impl Node {
    /// The objects of a bucket under `prefix`: the buffer's, and the tier's that
    /// the buffer does not have (flushed by another node sharing the tier).
    async fn list_all(&self, bucket: &str, prefix: &str) -> S3Result<Vec<ObjectMeta>> {
        let mut all = self.store.list(bucket, prefix).map_err(store_error)?;
        let tier = self.tier.clone();
        let (b, p) = (bucket.to_string(), prefix.to_string());
        let more = tokio::task::spawn_blocking(move || tier.list(&b, &p))
            .await
            .map_err(internal)?
            .map_err(|e| s3_error!(ServiceUnavailable, "the persistent tier: {e}"))?;
        let have: std::collections::HashSet<String> = all.iter().map(|m| m.key.clone()).collect();
        for o in more {
            if !have.contains(&o.key) {
                all.push(ObjectMeta {
                    size: o.size,
                    etag: o.etag,
                    modified: o.modified,
                    flushed: true,
                    ..ObjectMeta::empty(&o.key)
                });
            }
        }
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(all)
    }

    fn list_page(
        &self,
        all: Vec<ObjectMeta>,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: Option<i32>,
    ) -> S3Result<Page> {
        let max_keys = max_keys.unwrap_or(1000).clamp(0, 1000);
        let mut contents = Vec::new();
        let mut prefixes: Vec<CommonPrefix> = Vec::new();
        let mut next = None;
        let mut last_prefix: Option<String> = None;
        for m in all {
            if after.is_some_and(|a| m.key.as_str() <= a) {
                continue;
            }
            // a key under a delimiter past the prefix rolls up into its common prefix
            let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                m.key[prefix.len()..]
                    .find(d)
                    .map(|at| m.key[..prefix.len() + at + d.len()].to_string())
            });
            if let Some(p) = &rolled {
                if last_prefix.as_deref() == Some(p.as_str()) {
                    continue;
                }
                if after.is_some_and(|a| p.as_str() <= a) {
                    continue;
                }
            }
            if contents.len() + prefixes.len() == max_keys as usize {
                next = contents
                    .last()
                    .map(|o: &Object| o.key.clone().unwrap_or_default())
                    .into_iter()
                    .chain(last_prefix.clone())
                    .max();
                break;
            }
            match rolled {
                Some(p) => {
                    last_prefix = Some(p.clone());
                    prefixes.push(CommonPrefix { prefix: Some(p) });
                }
                None => contents.push(Object {
                    key: Some(m.key.clone()),
                    size: Some(m.size as i64),
                    e_tag: Some(ETag::Strong(m.etag.clone())),
                    last_modified: Some(timestamp(m.modified)),
                    ..Default::default()
                }),
            }
        }
        Ok(Page {
            contents,
            prefixes,
            next,
            max_keys,
        })
    }
}
