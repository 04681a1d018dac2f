//! The node's state: its buffer, the kernel attached to each bucket, the
//! events, counters, the persistent tier and the flusher's signal; what every
//! S3 operation and the ingest path share.

use crate::events::Events;
use crate::flush::Signal;
use crate::kernel::{self, Attached};
use crate::keys;
use crate::metrics::Metrics;
use crate::slots::Pool;
use crate::store::Store;
use crate::tier::Tier;
use s3s::{s3_error, S3Result};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What the node bounds.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest object (or multipart part) body, in bytes.
    pub max_object_bytes: u64,
    /// Uploads (PUTs and parts) received at once; more are answered `SlowDown`.
    pub max_uploads: usize,
    /// The most bytes the buffer holds (`--buffer-bytes`; `None`: what its
    /// file system takes).
    pub buffer_bytes: Option<u64>,
}

/// Where and how the node runs kernels.
#[derive(Clone, Debug)]
pub struct Compute {
    /// The slots objects run on.
    pub slots: crate::slots::SlotsSpec,
    /// The fraction of objects run on a CPU slot that are run again in an
    /// emulated slot and compared (0 to 1).
    pub verify_sample: f64,
    /// An object of a kernel without states takes the free CPU slots too.
    pub split_objects: bool,
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
    pub(crate) limits: Limits,
    /// Uploads being received (at most `limits.max_uploads`).
    pub(crate) uploads: Arc<tokio::sync::Semaphore>,
    /// The persistent tier.
    pub tier: Arc<dyn Tier>,
    /// Wakes the flusher after a commit.
    pub flush: Arc<Signal>,
    /// Per bucket: held while an object runs through a kernel with states, so
    /// the objects of a bucket carry the states in the order they arrive.
    pub(crate) state_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The slots objects run on.
    pub pool: Arc<Pool>,
    /// The fraction of CPU-slot objects checked in an emulated slot.
    pub(crate) verify_sample: f64,
    /// Objects run on a CPU slot so far (to sample `verify_sample` of them).
    pub(crate) cpu_objects: std::sync::atomic::AtomicU64,
    /// What the buffer holds against its cap.
    pub(crate) usage: crate::usage::Usage,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("root", &self.store.root())
            .finish()
    }
}

impl Node {
    /// Runs a call of the persistent tier (its calls block) on a blocking
    /// thread; a failure is the tier's S3 error.
    pub(crate) async fn on_tier<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Tier) -> Result<T, String> + Send + 'static,
    ) -> S3Result<T> {
        let tier = self.tier.clone();
        tokio::task::spawn_blocking(move || call(&*tier))
            .await
            .map_err(crate::fail::internal)?
            .map_err(crate::fail::tier_error)
    }

    /// A node over `store`; re-attaches every bucket's kernel from its
    /// `.hiss/kernel.hbx`.
    pub fn new(
        store: Store,
        limits: Limits,
        compute: Compute,
        tier: Arc<dyn Tier>,
    ) -> Result<Node, String> {
        let node = Node {
            pool: Arc::new(Pool::new(&compute.slots).splitting(compute.split_objects)),
            verify_sample: compute.verify_sample,
            cpu_objects: Default::default(),
            tier,
            flush: Arc::new(Signal::default()),
            kernels: Mutex::new(HashMap::new()),
            events: Arc::new(Events::default()),
            metrics: Arc::new(Metrics::default()),
            uploads: Arc::new(tokio::sync::Semaphore::new(limits.max_uploads)),
            usage: crate::usage::Usage::new(store.root(), limits.buffer_bytes),
            store: Arc::new(store),
            limits,
            state_locks: Mutex::new(HashMap::new()),
        };
        node.recover()?;
        for b in node.store.buckets().map_err(|e| e.to_string())? {
            if let Ok((m, path)) = node.store.get(&b, keys::KERNEL_KEY) {
                let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
                match kernel::attach(&bytes, &m.metadata, &node.pool) {
                    Ok(k) => {
                        tracing::info!(bucket = %b, kernel = %k.bundle.manifest.kernel, "kernel attached");
                        node.attach(&b, k);
                    }
                    Err(e) => {
                        tracing::error!(bucket = %b, error = %e, "stored kernel does not attach")
                    }
                }
            }
        }
        Ok(node)
    }

    /// The kernel attached to `bucket`, if any.
    pub(crate) fn kernel(&self, bucket: &str) -> Option<Arc<Attached>> {
        self.kernels.lock().expect("kernels").get(bucket).cloned()
    }

    /// `Ok` if `bucket` exists, else S3's `NoSuchBucket` (`InvalidBucketName`
    /// for a name no bucket can have).
    pub(crate) fn bucket(&self, bucket: &str) -> S3Result<()> {
        crate::store::check_bucket_name(bucket).map_err(crate::fail::store_error)?;
        if self.store.has_bucket(bucket) {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist: `{bucket}`."
            ))
        }
    }

    /// Attaches `k` to `bucket` (replacing its kernel).
    pub(crate) fn attach(&self, bucket: &str, k: Attached) {
        self.kernels
            .lock()
            .expect("kernels")
            .insert(bucket.to_string(), Arc::new(k));
    }

    /// Detaches the kernel of `bucket`, if it has one.
    pub(crate) fn detach(&self, bucket: &str) {
        self.kernels.lock().expect("kernels").remove(bucket);
    }
}

/// Seconds since the epoch (an object's modification time).
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Lower-case hex (an MD5 as an ETag).
pub(crate) fn hex(bytes: &[u8]) -> String {
    hex_simd::encode_to_string(bytes, hex_simd::AsciiCase::Lower)
}

/// A fresh name for a run or an upload (unique in this buffer).
pub(crate) fn fresh_id(store: &Store) -> String {
    store
        .tmp_path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// User metadata with lower-case names, sorted.
pub(crate) fn user_metadata<I: IntoIterator<Item = (String, String)>>(
    m: Option<I>,
) -> BTreeMap<String, String> {
    m.into_iter()
        .flatten()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}
