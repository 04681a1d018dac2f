//! Bodies into and out of the buffer: a request body received into a
//! temporary file (fsynced, checksummed, forwarded chunk by chunk to a kernel's
//! run), committed as an object, removed, and opened again for a GET (from the
//! buffer, or from the tier once it is flushed and evicted).

use crate::checksum::Checks;
use crate::fail::{internal, store_error};
use crate::node::{hex, Node};
use crate::store::{ObjectMeta, StoreError};
use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// A body received into a temporary file.
pub(crate) struct Received {
    /// The file.
    pub tmp: PathBuf,
    /// Its size.
    pub size: u64,
    /// Its MD5 (hex), or a multipart upload's ETag.
    pub md5: String,
    /// The checksums computed as it arrived, by S3 name.
    pub checksums: BTreeMap<String, String>,
}

/// An object's bytes: a buffer file, or a blocking reader from the tier.
pub(crate) enum Reader {
    File(tokio::fs::File),
    Blocking(Box<dyn std::io::Read + Send>),
}

pub(crate) type ByteStream = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static>,
>;

impl Reader {
    /// The bytes from `start`, `len` of them, as a response body.
    pub(crate) async fn stream(self, start: u64, len: u64) -> S3Result<ByteStream> {
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
    /// Receives a body into a temporary file (fsynced), forwarding each chunk to
    /// `tx` while it listens. A body larger than the limit, or one that breaks
    /// off, leaves no file.
    pub(crate) async fn receive(
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
        // the bytes counted against the buffer's cap, until the body is done
        let arriving = Arriving {
            usage: &self.usage,
            bytes: std::cell::Cell::new(0),
        };
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
            self.usage
                .receive(chunk.len() as u64)
                .map_err(crate::fail::full)?;
            arriving
                .bytes
                .set(arriving.bytes.get() + chunk.len() as u64);
            h.update(&chunk);
            checks.update(&chunk);
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
    pub(crate) async fn commit(
        &self,
        bucket: &str,
        tmp: PathBuf,
        meta: ObjectMeta,
    ) -> S3Result<ObjectMeta> {
        let store = self.store.clone();
        let bucket = bucket.to_string();
        let m = tokio::task::spawn_blocking(move || store.commit(&bucket, &tmp, meta))
            .await
            .map_err(internal)?
            .map_err(store_error)?;
        self.usage.changed();
        self.flush.wake();
        Ok(m)
    }

    /// Removes an object from the buffer and from the persistent tier.
    pub(crate) async fn remove_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        let store = self.store.clone();
        let (b, k) = (bucket.to_string(), key.to_string());
        tokio::task::spawn_blocking(move || store.delete(&b, &k))
            .await
            .map_err(internal)?
            .map_err(store_error)?;
        self.usage.changed();
        let (b, k) = (bucket.to_string(), key.to_string());
        self.on_tier(move |tier| tier.delete(&b, &k)).await
    }

    /// An object's metadata and bytes: from the buffer, or from the tier when
    /// the buffer has flushed and evicted it, or never had it (another node's).
    pub(crate) async fn open(&self, bucket: &str, key: &str) -> S3Result<(ObjectMeta, Reader)> {
        let local = match self.store.get(bucket, key) {
            Ok((m, path)) if !m.data.is_empty() => {
                let f = tokio::fs::File::open(&path).await.map_err(internal)?;
                return Ok((m, Reader::File(f)));
            }
            Ok((m, _)) => Some(m),
            Err(StoreError::NoKey) => None,
            Err(e) => return Err(store_error(e)),
        };
        let (b, k) = (bucket.to_string(), key.to_string());
        let found = self.on_tier(move |tier| tier.get(&b, &k)).await?;
        match found {
            Some((tm, r)) => Ok((
                local.map_or(tm.clone(), |m| ObjectMeta { size: tm.size, ..m }),
                Reader::Blocking(r),
            )),
            None => Err(s3_error!(
                NoSuchKey,
                "The specified key does not exist: `{key}`."
            )),
        }
    }

    /// What a GET of a state the bucket's kernel keeps reads before any object
    /// (or client) has written it: zeros of the state's dtype and shape, as
    /// the kernel's first object starts from. `None` for any other key.
    pub(crate) fn initial_state(&self, bucket: &str, key: &str) -> Option<(ObjectMeta, Reader)> {
        let k = self.kernel(bucket)?;
        let p = k
            .states
            .iter()
            .find(|p| crate::keys::state(&p.name) == key)?;
        let bytes = hiss_runtime::state::to_npy(p, &vec![0; p.ty.numel()]);
        let meta = ObjectMeta {
            size: bytes.len() as u64,
            etag: hex(&Md5::digest(&bytes)),
            content_type: Some("application/octet-stream".into()),
            modified: crate::node::now(),
            ..ObjectMeta::empty(key)
        };
        Some((
            meta,
            Reader::Blocking(Box::new(std::io::Cursor::new(bytes))),
        ))
    }
}

/// A body's bytes counted against the buffer's cap while it arrives; they stop
/// counting as arriving when it is done (committed bytes are measured).
struct Arriving<'a> {
    usage: &'a crate::usage::Usage,
    bytes: std::cell::Cell<u64>,
}

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.usage.received(self.bytes.get());
    }
}
