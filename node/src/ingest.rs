//! Receiving, running and committing a data object: a PUT's body (or an
//! assembled multipart upload) goes to a temporary file and, chunk by chunk,
//! to a worker thread that runs the frames through the bucket's kernel on a
//! slot of the pool ([`crate::slots`]; when every slot of its kind is busy,
//! the body goes to the file first and runs from it once one is free). Only when the body is complete, the run has succeeded and
//! every file is fsynced are the results (`.hiss/out/KEY/out.npy`, ...), the
//! object (its kept frames, with `hiss-keep`) and the states committed, the
//! event appended and the request answered: a refused object, or a client that
//! goes away mid-body, leaves nothing behind. A crash between those commits is
//! repaired at the next start ([`Node::recover`]).

use crate::body::Received;
use crate::checksum::Checks;
use crate::fail::{internal, store_error};
use crate::formats::{self, BodyFormat, Object, Store};
use crate::kernel::{self, Attached, ChannelReader, RunOutput};
use crate::keys;
use crate::node::{fresh_id, now, Node};
use crate::slots::Taken;
use crate::store::ObjectMeta;
use bytes::Bytes;
use futures::StreamExt;
use hiss_runtime::state;
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an object's bytes come from.
pub(crate) enum Source {
    /// A request body, as it arrives, its length when the request gave it, and
    /// the checksums to check.
    Body(StreamingBlob, Option<u64>, Box<Checks>),
    /// A file already received (an assembled multipart upload).
    File(Received),
}

/// A run whose body is in: what [`Node::finish_run`] commits.
struct Done {
    /// The kernel it ran.
    k: Arc<Attached>,
    /// The body, in a temporary file.
    got: Received,
    /// The run's outputs, or why the object is refused.
    run: Result<RunOutput, String>,
    /// The directory of the run's files.
    dir: PathBuf,
    /// When the run started.
    started: std::time::Instant,
    /// `hiss-store`, where the object says.
    store: Option<Store>,
}

impl Node {
    /// Repairs what a crash interrupted between a run's commits: a run whose
    /// object is there (or that stores none) gets its event; one whose object
    /// never arrived (it was not acknowledged) loses its results.
    pub(crate) fn recover(&self) -> Result<(), String> {
        for b in self.store.buckets().map_err(|e| e.to_string())? {
            let results = self
                .store
                .list(&b, keys::OUTPUT_PREFIX)
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

    /// Opens the kernel's fixed inputs (`.hiss/in/NAME.npy`) of a bucket.
    pub(crate) fn fixed_inputs(
        &self,
        bucket: &str,
        k: &Attached,
    ) -> S3Result<Vec<(String, std::fs::File)>> {
        k.fixed_inputs
            .iter()
            .map(|name| {
                let key = keys::input(name);
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

    /// Whether the object at `path` may become `key` of `bucket`: a state of
    /// its kernel must be an `.npy` of the state's dtype and shape, a fixed
    /// input one frame of the input's dtype and shape (as the runs will read
    /// them); every other key may hold anything.
    fn check_kernel_object(&self, bucket: &str, key: &str, path: &Path) -> Result<(), String> {
        let Some(k) = self.kernel(bucket) else {
            return Ok(());
        };
        let name = &k.bundle.manifest.kernel;
        if let Some(p) = k.states.iter().find(|p| keys::state(&p.name) == key) {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            return state::bind(name, p, &bytes, key).map(|_| ());
        }
        let Some(port) = k
            .bundle
            .manifest
            .inputs
            .iter()
            .find(|p| keys::input(&p.name) == key && k.fixed_inputs.contains(&p.name))
        else {
            return Ok(());
        };
        let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let (dtype, shape) = hiss_runtime::npy::read_header(&mut f, key)?;
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        if dtype.numpy_name() != port.dtype || shape != port.shape {
            return Err(format!(
                "input `{}` of kernel `{name}` is one frame of {} of shape {:?}; `{key}` is {} of shape {:?}",
                port.name,
                port.dtype,
                port.shape,
                dtype.numpy_name(),
                shape
            ));
        }
        Ok(())
    }

    /// The states an object of `bucket` starts from: `.hiss/state/NAME.npy`
    /// (the kernel's dtype and shape, bound as `hissc run --state` binds them),
    /// zeros for a state without one.
    async fn read_states(&self, bucket: &str, k: &Attached) -> S3Result<Vec<Vec<i128>>> {
        let mut out = state::initial(&k.states);
        for (p, values) in k.states.iter().zip(&mut out) {
            let key = keys::state(&p.name);
            let (m, reader) = match self.open(bucket, &key).await {
                Ok(found) => found,
                Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchKey => continue,
                Err(e) => return Err(e),
            };
            let mut stream = reader.stream(0, m.size).await?;
            let mut bytes = Vec::with_capacity(m.size as usize);
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.map_err(internal)?);
            }
            *values = state::bind(&k.bundle.manifest.kernel, p, &bytes, &key)
                .map_err(|e| s3_error!(InvalidRequest, "{e}"))?;
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
            let key = keys::state(name);
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

    /// Starts the kernel's run of one object on a worker thread, on the slot
    /// `taken`: it reads the body from the returned sender's chunks (or from
    /// `file`).
    #[allow(clippy::type_complexity)]
    fn start_run(
        &self,
        bucket: &str,
        k: Arc<Attached>,
        taken: Taken,
        object: Object,
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
        let mut taken = taken;
        let (tx, handle) = match file {
            Some(f) => (
                None,
                tokio::task::spawn_blocking(move || {
                    let body = std::io::BufReader::new(f);
                    kernel::run_object(&k, &mut taken, body, &object, fixed, states, &at)
                }),
            ),
            None => {
                let (tx, rx) = tokio::sync::mpsc::channel(16);
                (
                    Some(tx),
                    tokio::task::spawn_blocking(move || {
                        let body = ChannelReader::new(rx);
                        kernel::run_object(&k, &mut taken, body, &object, fixed, states, &at)
                    }),
                )
            }
        };
        Ok((tx, handle, dir))
    }

    /// Runs a body already in the buffer once a slot of its kernel's kind is
    /// free.
    async fn run_file(
        &self,
        bucket: &str,
        k: &Arc<Attached>,
        got: Received,
        object: Object,
        states: Vec<Vec<i128>>,
    ) -> S3Result<(Received, Result<RunOutput, String>, PathBuf)> {
        let taken = self.take_slot(k).await?;
        let f = std::fs::File::open(&got.tmp).map_err(internal)?;
        let object = Object {
            len: got.size,
            file: Some(got.tmp.clone()),
            ..object
        };
        let (_, handle, dir) = self.start_run(bucket, k.clone(), taken, object, Some(f), states)?;
        let run = handle.await.map_err(internal)?;
        Ok((got, run, dir))
    }

    /// A slot for an object of `k`, waiting for one to be free.
    async fn take_slot(&self, k: &Attached) -> S3Result<Taken> {
        self.pool
            .take(k.kind, &k.id)
            .await
            .ok_or_else(|| internal(format!("the node has no {} slot", k.kind.name())))
    }

    /// After a body is in and the kernel's run is done: commits the results and
    /// the object (its kept frames), appends the event. Cleans up on failure.
    async fn finish_run(&self, bucket: &str, meta: ObjectMeta, done: Done) -> S3Result<ObjectMeta> {
        let Done {
            k,
            got,
            run,
            dir,
            started,
            store,
        } = done;
        let store = store.unwrap_or(k.store);
        let key = meta.key.clone();
        let key = key.as_str();
        let cleanup = |tmp: &Path, dir: &Path| {
            let _ = std::fs::remove_file(tmp);
            let _ = std::fs::remove_dir_all(dir);
        };
        let out = match run {
            Ok(out) => out,
            Err(why) if crate::fail::is_full(&why) => {
                cleanup(&got.tmp, &dir);
                return Err(crate::fail::full(why));
            }
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
        let run = fresh_id(&self.store);
        let mut ev = serde_json::Map::new();
        ev.insert("key".into(), key.into());
        ev.insert("run".into(), run.clone().into());
        ev.insert("frames".into(), frames.into());
        ev.insert("kept".into(), kept.into());
        ev.insert("stored".into(), (kept > 0).into());
        ev.insert("bytes".into(), got.size.into());
        if frames <= crate::events::INLINE_FRAMES {
            let outputs: serde_json::Map<String, serde_json::Value> = out
                .scalars
                .into_iter()
                .map(|(n, v)| (n, serde_json::Value::Array(v)))
                .collect();
            ev.insert("outputs".into(), outputs.into());
        } else {
            // a large object's values are in its results; the line stays small
            let summary: serde_json::Map<String, serde_json::Value> = out
                .scalars
                .iter()
                .map(|(n, v)| (n.clone(), crate::events::summary(v)))
                .collect();
            ev.insert("summary".into(), summary.into());
        }
        // the kept frames are written before anything is committed: a full
        // buffer (or any failure) there leaves nothing behind
        let filtered = if kept > 0 && (kept < frames || store == Store::Bslz4) {
            let keep = out.keep.clone().unwrap_or_else(|| vec![true; frames]);
            let filtered = self.store.tmp_path();
            let (src, dst, format) = (got.tmp.clone(), filtered.clone(), out.format.clone());
            let k2 = k.clone();
            let written = tokio::task::spawn_blocking(move || {
                formats::write_kept(&format, &src, &dst, &keep, &k2, store)
            })
            .await
            .map_err(internal)
            .and_then(|w| w.map_err(internal));
            match written {
                Ok(w) => Some((filtered, w)),
                Err(e) => {
                    let _ = std::fs::remove_file(&filtered);
                    cleanup(&got.tmp, &dir);
                    return Err(e);
                }
            }
        } else {
            None
        };
        // results first (the first carries the event until it is in the log),
        // then the object, then the event: a crash anywhere is repaired at the
        // next start (see `Node::recover`); a failure here takes back what
        // was committed
        let mut first_result: Option<String> = None;
        let mut committed: Vec<String> = Vec::new();
        for (i, (name, path, written)) in out.files.iter().enumerate() {
            let rkey = keys::result(key, name);
            let rmeta = ObjectMeta {
                size: written.size,
                etag: written.md5.clone(),
                content_type: Some("application/octet-stream".into()),
                run: Some(run.clone()),
                pending_event: (i == 0).then(|| ev.clone()),
                ..ObjectMeta::empty(&rkey)
            };
            if let Err(e) = self.commit(bucket, path.clone(), rmeta).await {
                for r in &committed {
                    let _ = self.remove_object(bucket, r).await;
                }
                if let Some((f, _)) = &filtered {
                    let _ = std::fs::remove_file(f);
                }
                cleanup(&got.tmp, &dir);
                return Err(e);
            }
            committed.push(rkey.clone());
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
        } else if let Some((filtered, written)) = filtered {
            let _ = std::fs::remove_file(&got.tmp);
            let content_type = match (&out.format, store) {
                (BodyFormat::Hdf5(_), _) | (_, Store::Bslz4) => Some("application/x-hdf5".into()),
                _ => meta.content_type.clone(),
            };
            Some(
                self.commit(
                    bucket,
                    filtered,
                    ObjectMeta {
                        size: written.size,
                        etag: written.md5,
                        content_type,
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
    pub(crate) async fn ingest(
        &self,
        bucket: &str,
        key: &str,
        source: Source,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> S3Result<ObjectMeta> {
        self.bucket(bucket)?;
        if keys::is_result(key) {
            return Err(s3_error!(
                InvalidRequest,
                "keys under `{}` are the kernel's results, written by the node",
                keys::OUTPUT_PREFIX
            ));
        }
        let meta = ObjectMeta {
            content_type,
            metadata,
            modified: now(),
            ..ObjectMeta::empty(key)
        };
        let attached = if keys::is_node_key(key) {
            None
        } else {
            self.kernel(bucket)
        };
        let Some(k) = attached else {
            let got = match source {
                Source::Body(b, _, checks) => self.receive(b, None, *checks).await?,
                Source::File(r) => r,
            };
            // a state or fixed input the kernel would refuse later is refused now
            if let Err(why) = self.check_kernel_object(bucket, key, &got.tmp) {
                let _ = std::fs::remove_file(&got.tmp);
                return Err(s3_error!(
                    InvalidArgument,
                    "`{key}` is refused (what the key held stays): {why}"
                ));
            }
            let whole = ObjectMeta {
                size: got.size,
                etag: got.md5,
                checksums: got.checksums,
                ..meta
            };
            if key == keys::KERNEL_KEY {
                let bytes = std::fs::read(&got.tmp).map_err(internal)?;
                match kernel::attach(&bytes, &whole.metadata, &self.pool) {
                    Ok(k) => {
                        let m = self.commit(bucket, got.tmp, whole).await?;
                        tracing::info!(bucket, kernel = %k.bundle.manifest.kernel, "kernel attached");
                        self.attach(bucket, k);
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
                .object(whole.size, 0, 0, std::time::Duration::ZERO);
            return self.commit(bucket, got.tmp, whole).await;
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
        // what the object's metadata says is checked before anything runs
        let object = Object::from_metadata(0, &meta.metadata)
            .map_err(|why| s3_error!(InvalidArgument, "object `{key}` is refused: {why}"))?;
        let states = self.read_states(bucket, &k).await?;
        let sample = self.sampled(&k).then(|| states.clone());
        let started = std::time::Instant::now();
        let (got, run, dir) = match source {
            Source::Body(b, len, checks) => {
                // an HDF5 body runs from the buffer once it is in, never streamed
                let (head, b) = crate::body::peek(b, formats::SIGNATURE_BYTES).await;
                let free = (!formats::is_hdf5(&head))
                    .then(|| self.pool.try_take(k.kind, &k.id))
                    .flatten();
                match free {
                    Some(taken) => {
                        let object = Object {
                            len: len.unwrap_or(0),
                            ..object.clone()
                        };
                        let (tx, handle, dir) =
                            self.start_run(bucket, k.clone(), taken, object, None, states)?;
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
                    None => {
                        // every slot busy, or HDF5: into the buffer, run from there
                        let got = self.receive(b, None, *checks).await?;
                        self.run_file(bucket, &k, got, object.clone(), states)
                            .await?
                    }
                }
            }
            Source::File(r) => self.run_file(bucket, &k, r, object.clone(), states).await?,
        };
        if let (Some(states), Ok(out)) = (sample, &run) {
            self.verify_sample(bucket, key, &k, (&got, &object), states, out)
                .await?;
        }
        let done = Done {
            k,
            got,
            run,
            dir,
            started,
            store: object.store,
        };
        self.finish_run(bucket, meta, done).await
    }
}
