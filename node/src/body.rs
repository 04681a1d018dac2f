//! Bodies into and out of the buffer: a request body received into a
//! temporary file (fsynced, checksummed, forwarded chunk by chunk to a kernel's
//! run), committed as an object, removed, and opened again for a GET (from the
//! buffer, or from the tier once it is flushed and evicted).

use crate::checksum::Checks;
use crate::fail::{internal, store_error};
use crate::node::{hex, Node};
use crate::store::{ObjectMeta, StoreError};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        body: impl Stream<Item = Result<Bytes, s3s::StdError>> + Unpin + Send,
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
        mut body: impl Stream<Item = Result<Bytes, s3s::StdError>> + Unpin + Send,
        mut tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
        mut checks: Checks,
    ) -> S3Result<Received> {
        // the bytes go to a thread of their own that hashes them (MD5, the
        // ETag) and writes them, overlapped with receiving and with the
        // signature's SHA-256, which s3s computes as the body passes
        let (to_disk, writer) = spawn_writer(tmp.to_path_buf());
        let mut size = 0u64;
        // the bytes counted against the buffer's cap, until the body is done
        let arriving = Arriving {
            usage: &self.usage,
            bytes: std::sync::atomic::AtomicU64::new(0),
        };
        let received: S3Result<()> = async {
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
                    .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
                checks.update(&chunk);
                if to_disk.send(chunk.clone()).await.is_err() {
                    // the writer stopped: its error is the answer
                    break;
                }
                if let Some(t) = &tx {
                    // the worker may have stopped (a malformed object): keep receiving
                    if t.send(chunk).await.is_err() {
                        tx = None;
                    }
                }
            }
            Ok(())
        }
        .await;
        // the writer is done with the file before anyone removes it
        drop(to_disk);
        let written = writer.await.map_err(internal)?;
        received?;
        let md5 = written.map_err(internal)?;
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
    bytes: std::sync::atomic::AtomicU64,
}

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.usage
            .received(self.bytes.load(std::sync::atomic::Ordering::Relaxed));
    }
}

/// A thread that writes a body's chunks to `path` as they come, hashing them
/// (MD5), and fsyncs the file once the sender is dropped; it gives the MD5.
#[allow(clippy::type_complexity)]
fn spawn_writer(
    path: PathBuf,
) -> (
    tokio::sync::mpsc::Sender<Bytes>,
    tokio::task::JoinHandle<std::io::Result<md5::digest::Output<Md5>>>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let handle = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        let mut h = Md5::new();
        while let Some(chunk) = rx.blocking_recv() {
            h.update(&chunk);
            f.write_all(&chunk)?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(h.finalize())
    });
    (tx, handle)
}

/// A body's first chunks, until they hold at least `n` bytes (fewer when the
/// body is shorter or breaks off): their bytes, and the body with them put
/// back in front, to be received as it came.
pub(crate) async fn peek(
    mut body: StreamingBlob,
    n: usize,
) -> (
    Vec<u8>,
    impl Stream<Item = Result<Bytes, s3s::StdError>> + Unpin + Send,
) {
    let (mut head, mut bytes) = (Vec::new(), Vec::new());
    while bytes.len() < n {
        match body.next().await {
            Some(Ok(c)) => {
                bytes.extend_from_slice(&c[..c.len().min(n - bytes.len())]);
                head.push(Ok(c));
            }
            Some(Err(e)) => {
                head.push(Err(e));
                break;
            }
            None => break,
        }
    }
    (bytes, futures::stream::iter(head).chain(body))
}
