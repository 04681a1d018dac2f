//! Multipart uploads: each part received (and checksummed) into the upload's
//! directory, listed, aborted, and on completion assembled in order into one
//! body with S3's multipart ETag, which then takes the ingest path as a PUT's.

use crate::body::Received;
use crate::checksum::{checksum_of, given_checksums, with_checksums, Checks};
use crate::fail::internal;
use crate::ingest::Source;
use crate::node::{fresh_id, hex, user_metadata, Node};
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

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

/// The directory of upload `id` (an id the node gave: letters, digits, `-`).
fn upload_dir(node: &Node, id: &str) -> S3Result<PathBuf> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist."
        ));
    }
    Ok(node.store.root().join("multipart").join(id))
}

/// Upload `id` of `key` in `bucket`, or S3's `NoSuchUpload`.
fn upload(node: &Node, id: &str, bucket: &str, key: &str) -> S3Result<(PathBuf, Upload)> {
    let dir = upload_dir(node, id)?;
    let text = std::fs::read(dir.join("upload.json")).map_err(|_| {
        s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist."
        )
    })?;
    let u: Upload = serde_json::from_slice(&text).map_err(internal)?;
    if u.bucket != bucket || u.key != key {
        return Err(s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist."
        ));
    }
    Ok((dir, u))
}
pub(super) async fn create_multipart_upload(
    node: &Node,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let i = req.input;
    node.bucket(&i.bucket)?;
    let id = fresh_id(&node.store);
    let dir = upload_dir(node, &id)?;
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

pub(super) async fn upload_part(
    node: &Node,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let i = req.input;
    let _permit = node
        .uploads
        .clone()
        .try_acquire_owned()
        .map_err(|_| s3_error!(SlowDown, "too many uploads at once; try again"))?;
    let (dir, u) = upload(node, &i.upload_id, &i.bucket, &i.key)?;
    if !(1..=10000).contains(&i.part_number) {
        return Err(s3_error!(InvalidArgument, "part numbers are 1 to 10000"));
    }
    let body = i.body.ok_or_else(|| s3_error!(IncompleteBody, "no body"))?;
    let algorithm = i
        .checksum_algorithm
        .or_else(|| u.checksum_algorithm.map(ChecksumAlgorithm::from));
    let want = given_checksums!(i);
    let checks = Checks::new(
        algorithm.as_ref(),
        want,
        i.content_md5,
        req.trailing_headers,
    )?;
    let got = node.receive(body, None, checks).await?;
    let part = dir.join(format!("{}", i.part_number));
    std::fs::rename(&got.tmp, &part).map_err(internal)?;
    std::fs::write(dir.join(format!("{}.md5", i.part_number)), &got.md5).map_err(internal)?;
    node.usage.changed();
    let c = checksum_of(&got.checksums);
    Ok(S3Response::new(with_checksums!(UploadPartOutput, c, {
        e_tag: Some(ETag::Strong(got.md5)),
    })))
}

pub(super) async fn list_parts(
    node: &Node,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let i = req.input;
    let (dir, _) = upload(node, &i.upload_id, &i.bucket, &i.key)?;
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

/// The uploads in progress in a bucket, by key then upload id (S3's order),
/// from the markers on, at most `max-uploads` (1,000) of them.
pub(super) async fn list_multipart_uploads(
    node: &Node,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let i = req.input;
    node.bucket(&i.bucket)?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let mut found: Vec<(String, String, std::time::SystemTime)> = Vec::new();
    let root = node.store.root().join("multipart");
    if let Ok(dirs) = std::fs::read_dir(&root) {
        for e in dirs.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read(e.path().join("upload.json")) else {
                continue;
            };
            let Ok(u) = serde_json::from_slice::<Upload>(&text) else {
                continue;
            };
            if u.bucket == i.bucket && u.key.starts_with(&prefix) {
                let when = e.metadata().and_then(|m| m.modified()).map_err(internal)?;
                found.push((u.key, id, when));
            }
        }
    }
    found.sort();
    // after the markers: a key after the key marker, or the marker's key with
    // a later upload id
    let after = |(k, id, _): &(String, String, std::time::SystemTime)| match &i.key_marker {
        None => true,
        Some(m) => match &i.upload_id_marker {
            Some(u) if k == m => id > u,
            _ => k > m,
        },
    };
    let max = i.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
    let mut rest = found.into_iter().filter(after).peekable();
    let page: Vec<_> = rest.by_ref().take(max).collect();
    let truncated = rest.peek().is_some();
    let last = page.last().map(|(k, id, _)| (k.clone(), id.clone()));
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(i.bucket),
        prefix: i.prefix,
        key_marker: i.key_marker,
        upload_id_marker: i.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: last.as_ref().filter(|_| truncated).map(|(k, _)| k.clone()),
        next_upload_id_marker: last.filter(|_| truncated).map(|(_, id)| id),
        uploads: Some(
            page.into_iter()
                .map(|(key, id, when)| MultipartUpload {
                    key: Some(key),
                    upload_id: Some(id),
                    initiated: Some(Timestamp::from(when)),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    }))
}

pub(super) async fn abort_multipart_upload(
    node: &Node,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let i = req.input;
    let (dir, _) = upload(node, &i.upload_id, &i.bucket, &i.key)?;
    std::fs::remove_dir_all(dir).map_err(internal)?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub(super) async fn complete_multipart_upload(
    node: &Node,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let i = req.input;
    let (dir, u) = upload(node, &i.upload_id, &i.bucket, &i.key)?;
    let parts = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
    if parts.is_empty() {
        return Err(s3_error!(MalformedXML, "no parts"));
    }
    // the parts in order into one file, with S3's multipart ETag
    let tmp = node.store.tmp_path();
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
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order."
                ));
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
    let m = node
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
