//! The node's buffer on disk: buckets, objects and their metadata, written so
//! that an acknowledged object survives a crash and a half-written one never
//! appears.
//!
//! Layout under `--data DIR`:
//!
//! ```text
//! DIR/buckets/BUCKET/                     a bucket (its directory exists)
//! DIR/buckets/BUCKET/objects/H.json       an object's metadata (ObjectMeta), H = sha256(key)
//! DIR/buckets/BUCKET/objects/H.V.data     its bytes, V a version unique to the write
//! DIR/tmp/                                bodies being received (emptied at start)
//! ```
//!
//! Keys never become paths: a file is named by the sha256 of its key, so `../`,
//! absolute paths or NUL in a key cannot reach outside the bucket. An object is
//! committed by writing its bytes to a new data file and fsyncing it, then
//! renaming its metadata into place (atomic) and fsyncing the directory: the
//! metadata names the data file, so until the rename the old object (or none)
//! is what a reader sees, and after a crash a data file no metadata names is
//! removed at start.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What the node keeps about an object besides its bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its ETag (the MD5 of its bytes, hex, for a single upload).
    pub etag: String,
    /// When it was written, seconds since the Unix epoch.
    pub modified: i64,
    /// Its content type, as given.
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`), names in lower case.
    pub metadata: BTreeMap<String, String>,
    /// The data file's name in the bucket's `objects` directory.
    pub data: String,
    /// Whether the persistent tier has it.
    #[serde(default)]
    pub flushed: bool,
    /// Its checksums as the client asked for them (`crc32`, `crc32c`, `sha1`,
    /// `sha256`, `crc64nvme`: base64 of the digest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    /// The kernel run that wrote it (a data object and its results share one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// On a run's first result until its event is in the log: the event, so
    /// that a crash between the two is repaired at the next start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_event: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ObjectMeta {
    /// Metadata of an empty object of `key`.
    pub fn empty(key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.to_string(),
            size: 0,
            etag: String::new(),
            modified: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            content_type: None,
            metadata: BTreeMap::new(),
            data: String::new(),
            flushed: false,
            checksums: BTreeMap::new(),
            run: None,
            pending_event: None,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// No such bucket.
    NoBucket,
    /// The bucket exists already.
    BucketExists,
    /// The bucket still holds objects.
    BucketNotEmpty,
    /// No such object.
    NoKey,
    /// A bucket name the node does not take (and why).
    BadName(String),
    /// The file system failed.
    Io(std::io::Error),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NoBucket => f.write_str("the bucket does not exist"),
            StoreError::BucketExists => f.write_str("the bucket exists"),
            StoreError::BucketNotEmpty => f.write_str("the bucket is not empty"),
            StoreError::NoKey => f.write_str("the key does not exist"),
            StoreError::BadName(why) => f.write_str(why),
            StoreError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The buffer.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    /// Makes temporary and data file names unique within this process.
    counter: AtomicU64,
    /// Distinguishes this process's names from a previous run's.
    boot: u128,
    /// Serializes metadata changes (commits, deletes, flush marks) so that a
    /// flush never marks a version it did not copy.
    meta_lock: std::sync::Mutex<()>,
}

/// Checks a bucket name: S3's rules (3 to 63 lower-case letters, digits, `.`
/// and `-`, starting and ending with a letter or digit, no `..`).
pub fn check_bucket_name(name: &str) -> Result<(), StoreError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(format!(
            "`{name}` is not a bucket name: 3 to 63 lower-case letters, digits, `.` and `-`"
        )))
    }
}

/// The file name part for a key: the hex sha256 of its bytes.
fn key_hash(key: &str) -> String {
    hiss_runtime::bundle::sha256_hex(key.as_bytes())
}

/// fsyncs a directory, so that a rename in it is durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl Store {
    /// Opens (creating) the buffer at `root`: empties `tmp/`, and removes data
    /// files that no metadata names (writes a crash interrupted).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(root.join("buckets"))?;
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let s = Store {
            root: root.to_path_buf(),
            counter: AtomicU64::new(0),
            boot: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            meta_lock: std::sync::Mutex::new(()),
        };
        for b in s.buckets()? {
            s.sweep(&b)?;
        }
        Ok(s)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, StoreError> {
        check_bucket_name(bucket)?;
        Ok(self.root.join("buckets").join(bucket))
    }

    fn objects(&self, bucket: &str) -> Result<PathBuf, StoreError> {
        let d = self.bucket_dir(bucket)?;
        if !d.is_dir() {
            return Err(StoreError::NoBucket);
        }
        Ok(d.join("objects"))
    }

    /// A unique name.
    fn unique(&self) -> String {
        format!(
            "{:x}-{}-{}",
            self.boot,
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A new file path in `tmp/` for a body being received.
    pub fn tmp_path(&self) -> PathBuf {
        self.root.join("tmp").join(self.unique())
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        let d = self.bucket_dir(bucket)?;
        if d.exists() {
            return Err(StoreError::BucketExists);
        }
        std::fs::create_dir_all(d.join("objects"))?;
        sync_dir(&self.root.join("buckets"))?;
        Ok(())
    }

    /// Deletes an empty bucket.
    pub fn delete_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        let objects = self.objects(bucket)?;
        if std::fs::read_dir(&objects)?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
        {
            return Err(StoreError::BucketNotEmpty);
        }
        std::fs::remove_dir_all(self.bucket_dir(bucket)?)?;
        sync_dir(&self.root.join("buckets"))?;
        Ok(())
    }

    /// Whether a bucket exists.
    pub fn has_bucket(&self, bucket: &str) -> bool {
        self.objects(bucket).is_ok()
    }

    /// The buckets, sorted.
    pub fn buckets(&self) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = std::fs::read_dir(self.root.join("buckets"))?
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        out.sort();
        Ok(out)
    }

    /// A bucket's directory for the node's own files (events, kernel state).
    pub fn bucket_path(&self, bucket: &str) -> Result<PathBuf, StoreError> {
        let d = self.bucket_dir(bucket)?;
        if !d.is_dir() {
            return Err(StoreError::NoBucket);
        }
        Ok(d)
    }

    /// An object's metadata and the path of its bytes.
    pub fn get(&self, bucket: &str, key: &str) -> Result<(ObjectMeta, PathBuf), StoreError> {
        let objects = self.objects(bucket)?;
        let meta = objects.join(format!("{}.json", key_hash(key)));
        let text = match std::fs::read(&meta) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NoKey),
            Err(e) => return Err(e.into()),
        };
        let m: ObjectMeta =
            serde_json::from_slice(&text).map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        let data = objects.join(&m.data);
        Ok((m, data))
    }

    /// Commits the bytes at `tmp` (written and fsynced by the caller) as object
    /// `meta.key` of `bucket`, replacing any object of that key. `meta.data` is
    /// set here.
    pub fn commit(
        &self,
        bucket: &str,
        tmp: &Path,
        mut meta: ObjectMeta,
    ) -> Result<ObjectMeta, StoreError> {
        let objects = self.objects(bucket)?;
        let h = key_hash(&meta.key);
        let _g = self.meta_lock.lock().expect("metadata lock");
        let old = self.get(bucket, &meta.key).ok().map(|(m, _)| m.data);
        meta.data = format!("{h}.{}.data", self.unique());
        std::fs::rename(tmp, objects.join(&meta.data))?;
        self.write_meta(&objects, &h, &meta)?;
        if let Some(old) = old.filter(|o| *o != meta.data && !o.is_empty()) {
            let _ = std::fs::remove_file(objects.join(old));
        }
        Ok(meta)
    }

    /// Marks the version of `key` whose data file is `data` as in the
    /// persistent tier, evicting its bytes from the buffer when `evict`. Gives
    /// `false` if that version is no longer the object (replaced or deleted).
    pub fn mark_flushed(
        &self,
        bucket: &str,
        key: &str,
        data: &str,
        evict: bool,
    ) -> Result<bool, StoreError> {
        let objects = self.objects(bucket)?;
        let _g = self.meta_lock.lock().expect("metadata lock");
        let mut m = match self.get(bucket, key) {
            Ok((m, _)) if m.data == data => m,
            Ok(_) | Err(StoreError::NoKey) => return Ok(false),
            Err(e) => return Err(e),
        };
        m.flushed = true;
        if evict {
            m.data = String::new();
        }
        self.write_meta(&objects, &key_hash(key), &m)?;
        if evict {
            let _ = std::fs::remove_file(objects.join(data));
        }
        Ok(true)
    }

    fn write_meta(&self, objects: &Path, h: &str, meta: &ObjectMeta) -> Result<(), StoreError> {
        let tmp = self.tmp_path();
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(meta).expect("metadata serializes"))?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, objects.join(format!("{h}.json")))?;
        sync_dir(objects)?;
        Ok(())
    }

    /// Clears the pending event of an object (its event is in the log).
    pub fn clear_pending(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let objects = self.objects(bucket)?;
        let _g = self.meta_lock.lock().expect("metadata lock");
        let (mut m, _) = self.get(bucket, key)?;
        if m.pending_event.take().is_some() {
            self.write_meta(&objects, &key_hash(key), &m)?;
        }
        Ok(())
    }

    /// Deletes an object (deleting one that does not exist succeeds, as in S3).
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let objects = self.objects(bucket)?;
        let _g = self.meta_lock.lock().expect("metadata lock");
        let Ok((m, _)) = self.get(bucket, key) else {
            return Ok(());
        };
        std::fs::remove_file(objects.join(format!("{}.json", key_hash(&m.key))))?;
        sync_dir(&objects)?;
        if !m.data.is_empty() {
            let _ = std::fs::remove_file(objects.join(&m.data));
        }
        Ok(())
    }

    /// The objects of a bucket whose keys start with `prefix`, sorted by key.
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let objects = self.objects(bucket)?;
        let mut out = Vec::new();
        for e in std::fs::read_dir(&objects)?.flatten() {
            if !e.file_name().to_string_lossy().ends_with(".json") {
                continue;
            }
            let Ok(text) = std::fs::read(e.path()) else {
                continue; // deleted meanwhile
            };
            if let Ok(m) = serde_json::from_slice::<ObjectMeta>(&text) {
                if m.key.starts_with(prefix) {
                    out.push(m);
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Removes a bucket's data files that no metadata names.
    fn sweep(&self, bucket: &str) -> Result<(), StoreError> {
        let objects = self.objects(bucket)?;
        let named: std::collections::HashSet<String> =
            self.list(bucket, "")?.into_iter().map(|m| m.data).collect();
        for e in std::fs::read_dir(&objects)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".data") && !named.contains(&name) {
                std::fs::remove_file(e.path())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str) -> ObjectMeta {
        ObjectMeta {
            size: 3,
            etag: "e".into(),
            ..ObjectMeta::empty(key)
        }
    }

    #[test]
    fn keys_never_become_paths() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_bucket("bkt").unwrap();
        for key in ["../../etc/passwd", "/abs/path", "a\0b", "x/../../y"] {
            let tmp = s.tmp_path();
            std::fs::write(&tmp, b"abc").unwrap();
            s.commit("bkt", &tmp, meta(key)).unwrap();
            let (m, data) = s.get("bkt", key).unwrap();
            assert_eq!(m.key, key);
            assert!(data.starts_with(dir.path().join("buckets/bkt/objects")));
        }
        assert_eq!(s.list("bkt", "").unwrap().len(), 4);
        assert!(matches!(
            s.create_bucket("../x"),
            Err(StoreError::BadName(_))
        ));
        assert!(matches!(s.get("..", "k"), Err(StoreError::BadName(_))));
    }

    #[test]
    fn a_replaced_object_leaves_one_data_file_and_orphans_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.create_bucket("bkt").unwrap();
        for body in [&b"one"[..], b"two"] {
            let tmp = s.tmp_path();
            std::fs::write(&tmp, body).unwrap();
            s.commit("bkt", &tmp, meta("k")).unwrap();
        }
        let (_, data) = s.get("bkt", "k").unwrap();
        assert_eq!(std::fs::read(&data).unwrap(), b"two");
        // a data file a crash left without metadata goes at the next start
        let orphan = dir.path().join("buckets/bkt/objects/0000.x.data");
        std::fs::write(&orphan, b"half").unwrap();
        let count = || {
            std::fs::read_dir(dir.path().join("buckets/bkt/objects"))
                .unwrap()
                .count()
        };
        assert_eq!(count(), 3);
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(count(), 2);
        assert_eq!(std::fs::read(s.get("bkt", "k").unwrap().1).unwrap(), b"two");
        s.delete("bkt", "k").unwrap();
        assert_eq!(count(), 0);
        s.delete_bucket("bkt").unwrap();
        assert!(!s.has_bucket("bkt"));
    }
}
