//! The persistent tier behind the buffer: a directory (the embedded default),
//! or an existing S3 service. The flusher ([`crate::flush`]) copies committed
//! objects into it; reads fall through to it for objects the buffer has
//! flushed and evicted, or that another node sharing the tier wrote.
//!
//! Both kinds write whole objects only: the directory tier writes a temporary
//! file, fsyncs it and renames it into place; an S3 `PUT` is atomic. Object
//! metadata (content type, user metadata, ETag) travels with the object (a JSON
//! file beside it under `.hiss-meta/`, or the S3 object's own headers).

use crate::store::ObjectMeta;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An object as the tier lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct TierObject {
    /// Its key (in the node's bucket).
    pub key: String,
    /// Its size.
    pub size: u64,
    /// Its ETag.
    pub etag: String,
    /// When it was written, seconds since the epoch.
    pub modified: i64,
}

/// Where flushed objects live.
pub trait Tier: Send + Sync {
    /// What it is, for logs (`directory /mnt/archive`, `s3 http://...`).
    fn describe(&self) -> String;
    /// Writes object `meta.key` of `bucket` from the file `data`, whole or not at all.
    fn put(&self, bucket: &str, meta: &ObjectMeta, data: &Path) -> Result<(), String>;
    /// An object's metadata and a reader of its bytes, or `None` if it is not there.
    #[allow(clippy::type_complexity)]
    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectMeta, Box<dyn Read + Send>)>, String>;
    /// Deletes an object (one that is not there is no error).
    fn delete(&self, bucket: &str, key: &str) -> Result<(), String>;
    /// The objects of `bucket` whose keys start with `prefix`.
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<TierObject>, String>;
}

/// A key as a relative path that stays inside its directory: each segment is
/// percent-encoded where it would not be a plain name (`%`, NUL, and the
/// segments ``, `.` and `..`), so every key has its own path and back.
pub fn key_path(key: &str) -> PathBuf {
    let mut p = PathBuf::new();
    for seg in key.split('/') {
        let mut s = String::new();
        for c in seg.chars() {
            match c {
                '%' => s.push_str("%25"),
                '\0' => s.push_str("%00"),
                c => s.push(c),
            }
        }
        match seg {
            "" => s = "%".into(),
            "." => s = "%2E".into(),
            ".." => s = "%2E%2E".into(),
            _ => {}
        }
        // a name too long for the file system keeps its tail in a sub-directory
        p.push(s);
    }
    p
}

/// The key of a path made by [`key_path`].
pub fn path_key(p: &Path) -> Option<String> {
    let mut segs = Vec::new();
    for c in p.components() {
        let s = c.as_os_str().to_str()?;
        let seg = if s == "%" {
            String::new()
        } else {
            let mut out = Vec::new();
            let b = s.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    let v = u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?;
                    out.push(v);
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).ok()?
        };
        segs.push(seg);
    }
    Some(segs.join("/"))
}

/// The directory tier: `ROOT/BUCKET/KEY` (keys as [`key_path`] makes them
/// paths), metadata in `ROOT/.hiss-meta/BUCKET/KEY.json`. Files are written in
/// the node's own staging directory `ROOT/.hiss-staging/NODE/` and renamed
/// into place (on the buffer's own file system a data file is hard-linked
/// there, not copied: buffer files are never written again once committed); a node empties its staging directory when it starts, so a crash
/// mid-copy leaves nothing behind, and nodes sharing the tier never touch each
/// other's files in flight.
pub struct DirTier {
    root: PathBuf,
    staging: PathBuf,
    counter: std::sync::atomic::AtomicU64,
}

impl DirTier {
    /// The tier at `root` (created), written by the node `node` (a name stable
    /// across its restarts and unique among the nodes sharing the tier).
    pub fn new(root: &Path, node: &str) -> Result<DirTier, String> {
        let staging = root.join(".hiss-staging").join(node);
        let fail = |e: std::io::Error| format!("cannot create the tier `{}`: {e}", root.display());
        std::fs::create_dir_all(root.join(".hiss-meta")).map_err(fail)?;
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(fail)?;
        }
        std::fs::create_dir_all(&staging).map_err(fail)?;
        Ok(DirTier {
            root: root.to_path_buf(),
            staging,
            counter: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Writes `bytes` (or copies `from`) to `to` through a staging file,
    /// fsynced, then renamed: whole or not at all.
    fn write_whole(&self, to: &Path, from: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
        let dir = to.parent().ok_or("no parent directory")?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.staging.join(n.to_string());
        let result = (|| -> std::io::Result<()> {
            // a buffer file is never written again once committed, so a tier on
            // the buffer's file system takes it as a second name (no copy; its
            // bytes are already durable); elsewhere, the bytes are copied
            let linked = from.is_some_and(|src| std::fs::hard_link(src, &tmp).is_ok());
            if !linked {
                let mut f = std::fs::File::create(&tmp)?;
                match from {
                    Some(src) => {
                        std::io::copy(&mut std::fs::File::open(src)?, &mut f)?;
                    }
                    None => std::io::Write::write_all(&mut f, bytes)?,
                }
                f.sync_all()?;
            }
            std::fs::rename(&tmp, to)?;
            if linked {
                // renaming a name onto another name of the same file does
                // nothing (POSIX), which a flush again after a restart does
                let _ = std::fs::remove_file(&tmp);
            }
            std::fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(|e| format!("`{}`: {e}", to.display()))
    }

    fn paths(&self, bucket: &str, key: &str) -> (PathBuf, PathBuf) {
        let rel = key_path(key);
        let data = self.root.join(bucket).join(&rel);
        let mut meta = self.root.join(".hiss-meta").join(bucket).join(&rel);
        let name = format!(
            "{}.json",
            meta.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        meta.set_file_name(name);
        (data, meta)
    }
}

impl Tier for DirTier {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn put(&self, bucket: &str, meta: &ObjectMeta, data: &Path) -> Result<(), String> {
        let (d, m) = self.paths(bucket, &meta.key);
        // metadata first: bytes without it are never listed as an object
        self.write_whole(
            &m,
            None,
            &serde_json::to_vec(meta).map_err(|e| e.to_string())?,
        )?;
        self.write_whole(&d, Some(data), &[])
    }

    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectMeta, Box<dyn Read + Send>)>, String> {
        let (d, m) = self.paths(bucket, key);
        let Ok(f) = std::fs::File::open(&d) else {
            return Ok(None);
        };
        let Ok(text) = std::fs::read(&m) else {
            return Ok(None);
        };
        let mut meta: ObjectMeta = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
        meta.size = f.metadata().map_err(|e| e.to_string())?.len();
        Ok(Some((meta, Box::new(f))))
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), String> {
        let (d, m) = self.paths(bucket, key);
        for p in [d, m] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("`{}`: {e}", p.display())),
            }
        }
        Ok(())
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<TierObject>, String> {
        let base = self.root.join(bucket);
        let mut out = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Some(key) = p.strip_prefix(&base).ok().and_then(path_key) else {
                    continue;
                };
                if !key.starts_with(prefix) {
                    continue;
                }
                if let Ok(Some((m, _))) = self.get(bucket, &key) {
                    out.push(TierObject {
                        key,
                        size: m.size,
                        etag: m.etag,
                        modified: m.modified,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

/// An S3 service as the tier: object `KEY` of the node's bucket `B` is
/// `PREFIX B/KEY` in the tier's bucket.
pub struct S3Tier {
    bucket: Bucket,
    creds: Credentials,
    prefix: String,
    agent: ureq::Agent,
}

/// How long a request's signature is valid.
const SIGNED_FOR: Duration = Duration::from_secs(600);

impl S3Tier {
    /// The tier at `endpoint` (`http://host:port`), bucket `bucket`, keys under `prefix`.
    pub fn new(
        endpoint: &str,
        bucket: &str,
        prefix: &str,
        region: &str,
        key: &str,
        secret: &str,
    ) -> Result<S3Tier, String> {
        let url = endpoint
            .parse()
            .map_err(|e| format!("the tier's endpoint `{endpoint}`: {e}"))?;
        let b = Bucket::new(url, UrlStyle::Path, bucket.to_string(), region.to_string())
            .map_err(|e| format!("the tier's bucket `{bucket}`: {e}"))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        Ok(S3Tier {
            bucket: b,
            creds: Credentials::new(key.to_string(), secret.to_string()),
            prefix: prefix.to_string(),
            agent,
        })
    }

    fn object(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}/{key}", self.prefix)
    }

    fn fail(what: &str, mut r: ureq::http::Response<ureq::Body>) -> String {
        let status = r.status();
        let body = r.body_mut().read_to_string().unwrap_or_default();
        format!(
            "the tier answered {what} with {status}: {}",
            body.chars().take(300).collect::<String>()
        )
    }
}

impl Tier for S3Tier {
    fn describe(&self) -> String {
        format!(
            "s3 {} bucket {}",
            self.bucket.base_url(),
            self.bucket.name()
        )
    }

    fn put(&self, bucket: &str, meta: &ObjectMeta, data: &Path) -> Result<(), String> {
        let name = self.object(bucket, &meta.key);
        let mut action = self.bucket.put_object(Some(&self.creds), &name);
        let mut headers: BTreeMap<String, String> = meta
            .metadata
            .iter()
            .map(|(k, v)| (format!("x-amz-meta-{k}"), v.clone()))
            .collect();
        headers.insert("x-amz-meta-hiss-etag".into(), meta.etag.clone());
        headers.insert("x-amz-meta-hiss-modified".into(), meta.modified.to_string());
        if let Some(ct) = &meta.content_type {
            headers.insert("content-type".into(), ct.clone());
        }
        for (k, v) in &headers {
            action.headers_mut().insert(k.clone(), v.clone());
        }
        let url = action.sign(SIGNED_FOR);
        let f = std::fs::File::open(data).map_err(|e| e.to_string())?;
        let mut req = self.agent.put(url.as_str());
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let r = req.send(&f).map_err(|e| format!("the tier: {e}"))?;
        if !r.status().is_success() {
            return Err(Self::fail("PUT", r));
        }
        Ok(())
    }

    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectMeta, Box<dyn Read + Send>)>, String> {
        let name = self.object(bucket, key);
        let url = self
            .bucket
            .get_object(Some(&self.creds), &name)
            .sign(SIGNED_FOR);
        let r = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| format!("the tier: {e}"))?;
        if r.status() == 404 {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(Self::fail("GET", r));
        }
        let h = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let mut metadata = BTreeMap::new();
        for (k, v) in r.headers() {
            if let Some(m) = k.as_str().strip_prefix("x-amz-meta-") {
                if !m.starts_with("hiss-etag") && !m.starts_with("hiss-modified") {
                    metadata.insert(m.to_string(), v.to_str().unwrap_or_default().to_string());
                }
            }
        }
        let meta = ObjectMeta {
            key: key.to_string(),
            size: h("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            etag: h("x-amz-meta-hiss-etag")
                .or_else(|| h("etag").map(|e| e.trim_matches('"').to_string()))
                .unwrap_or_default(),
            modified: h("x-amz-meta-hiss-modified")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            content_type: h("content-type"),
            metadata,
            data: String::new(),
            flushed: true,
            checksums: BTreeMap::new(),
            run: None,
            pending_event: None,
        };
        let reader = r.into_body().into_reader();
        Ok(Some((meta, Box::new(reader))))
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), String> {
        let name = self.object(bucket, key);
        let url = self
            .bucket
            .delete_object(Some(&self.creds), &name)
            .sign(SIGNED_FOR);
        let r = self
            .agent
            .delete(url.as_str())
            .call()
            .map_err(|e| format!("the tier: {e}"))?;
        if !r.status().is_success() && r.status() != 404 {
            return Err(Self::fail("DELETE", r));
        }
        Ok(())
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<TierObject>, String> {
        let full = self.object(bucket, prefix);
        let strip = self.object(bucket, "");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = self.bucket.list_objects_v2(Some(&self.creds));
            action.with_prefix(full.clone());
            if let Some(t) = &token {
                action.with_continuation_token(t.clone());
            }
            let url = action.sign(SIGNED_FOR);
            let mut r = self
                .agent
                .get(url.as_str())
                .call()
                .map_err(|e| format!("the tier: {e}"))?;
            if !r.status().is_success() {
                return Err(Self::fail("LIST", r));
            }
            let text = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&text)
                .map_err(|e| format!("the tier's listing: {e}"))?;
            for o in page.contents {
                if let Some(key) = o.key.strip_prefix(&strip) {
                    out.push(TierObject {
                        key: key.to_string(),
                        size: o.size.unwrap_or(0),
                        etag: o.etag.unwrap_or_default().trim_matches('"').to_string(),
                        modified: 0,
                    });
                }
            }
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_paths_inside_the_tier_and_back() {
        for key in [
            "a/b.npy", "../../x", "/abs", "a//b", ".", "%2E", "x\0y", "a/./b/",
        ] {
            let p = key_path(key);
            assert!(
                p.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "{key:?} -> {p:?}"
            );
            assert_eq!(path_key(&p).as_deref(), Some(key), "{p:?}");
        }
    }

    #[test]
    fn the_directory_tier_writes_whole_objects() {
        let dir = tempfile::tempdir().unwrap();
        let t = DirTier::new(&dir.path().join("tier"), "n1").unwrap();
        let src = dir.path().join("src");
        std::fs::write(&src, b"frames").unwrap();
        let meta = ObjectMeta {
            key: "run/../1.npy".into(),
            size: 6,
            etag: "e".into(),
            modified: 5,
            content_type: None,
            metadata: BTreeMap::from([("run".into(), "7".into())]),
            data: String::new(),
            flushed: false,
            checksums: BTreeMap::new(),
            run: None,
            pending_event: None,
        };
        t.put("bkt", &meta, &src).unwrap();
        // on one file system the tier takes the file as a second name; a flush
        // again (after a restart) leaves nothing in staging
        t.put("bkt", &meta, &src).unwrap();
        let staged: Vec<_> = std::fs::read_dir(dir.path().join("tier/.hiss-staging/n1"))
            .unwrap()
            .collect();
        assert!(staged.is_empty(), "{staged:?}");
        let (m, mut r) = t.get("bkt", "run/../1.npy").unwrap().unwrap();
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"frames");
        assert_eq!(m.metadata["run"], "7");
        assert_eq!(t.list("bkt", "run/").unwrap().len(), 1);
        assert!(dir.path().join("tier/bkt/run/%2E%2E/1.npy").exists());
        t.delete("bkt", "run/../1.npy").unwrap();
        assert!(t.get("bkt", "run/../1.npy").unwrap().is_none());
        assert!(t.list("bkt", "").unwrap().is_empty());
    }
}
