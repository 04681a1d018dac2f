//! Object operations: PUT (through the ingest path), GET with ranges and
//! checksums, HEAD, DELETE (a kernel's bundle detaches it), and COPY (a copy is
//! not new data from the instrument: no kernel runs on it).

use crate::checksum::{checksum_of, given_checksums, with_checksums, Checks};
use crate::fail::internal;
use crate::ingest::Source;
use crate::keys;
use crate::node::{hex, user_metadata, Node};
use crate::store::ObjectMeta;
use futures::StreamExt;
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result};
use tokio::io::AsyncWriteExt;

/// Seconds since the epoch as S3's timestamp.
pub(super) fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64))
}

pub(super) async fn put_object(
    node: &Node,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let input = req.input;
    let _permit = node
        .uploads
        .clone()
        .try_acquire_owned()
        .map_err(|_| s3_error!(SlowDown, "too many uploads at once; try again"))?;
    if input.content_length.unwrap_or(0) as u64 > node.limits.max_object_bytes {
        return Err(s3_error!(
            EntityTooLarge,
            "the body is larger than this node takes ({} bytes)",
            node.limits.max_object_bytes
        ));
    }
    let body = input
        .body
        .ok_or_else(|| s3_error!(IncompleteBody, "no body"))?;
    let want = given_checksums!(input);
    let checks = Checks::new(
        input.checksum_algorithm.as_ref(),
        want,
        input.content_md5,
        req.trailing_headers,
    )?;
    let m = node
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
    Ok(S3Response::new(with_checksums!(PutObjectOutput, c, {
        e_tag: Some(ETag::Strong(m.etag)),
    })))
}

/// An object's metadata and bytes, or a kernel's state that nothing has
/// written yet (zeros, what the next object starts from).
async fn open_or_initial(
    node: &Node,
    bucket: &str,
    key: &str,
) -> S3Result<(ObjectMeta, crate::body::Reader)> {
    match node.open(bucket, key).await {
        Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchKey => {
            node.initial_state(bucket, key).ok_or(e)
        }
        other => other,
    }
}

pub(super) async fn get_object(
    node: &Node,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    let (m, reader) = open_or_initial(node, &input.bucket, &input.key).await?;
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
            let r = r
                .check(m.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable."))?;
            let cr = format!("bytes {}-{}/{}", r.start, r.end - 1, m.size);
            (r.start, r.end - r.start, Some(cr))
        }
    };
    Ok(S3Response::new(with_checksums!(GetObjectOutput, c, {
        body: Some(StreamingBlob::wrap(reader.stream(start, len).await?)),
        content_length: Some(len as i64),
        content_range: range,
        content_type: m.content_type.clone(),
        e_tag: Some(ETag::Strong(m.etag.clone())),
        last_modified: Some(timestamp(m.modified)),
        metadata: Some(m.metadata.clone().into_iter().collect()),
    })))
}

pub(super) async fn head_object(
    node: &Node,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let (m, _) = open_or_initial(node, &req.input.bucket, &req.input.key).await?;
    Ok(S3Response::new(HeadObjectOutput {
        content_length: Some(m.size as i64),
        content_type: m.content_type.clone(),
        e_tag: Some(ETag::Strong(m.etag.clone())),
        last_modified: Some(timestamp(m.modified)),
        metadata: Some(m.metadata.into_iter().collect()),
        ..Default::default()
    }))
}

pub(super) async fn delete_object(
    node: &Node,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let (b, k) = (&req.input.bucket, &req.input.key);
    node.remove_object(b, k).await?;
    if k == keys::KERNEL_KEY {
        node.detach(b);
        tracing::info!(bucket = %b, "kernel detached");
    }
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

/// Several objects deleted as `DeleteObject` deletes each (`aws s3 rm
/// --recursive` sends them a thousand at a time); a key that fails is named in
/// the answer's errors and the others still go.
pub(super) async fn delete_objects(
    node: &Node,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let i = req.input;
    node.bucket(&i.bucket)?;
    let quiet = i.delete.quiet.unwrap_or(false);
    let (mut deleted, mut errors) = (Vec::new(), Vec::new());
    for o in i.delete.objects {
        match node.remove_object(&i.bucket, &o.key).await {
            Ok(()) => {
                if o.key == keys::KERNEL_KEY {
                    node.detach(&i.bucket);
                    tracing::info!(bucket = %i.bucket, "kernel detached");
                }
                if !quiet {
                    deleted.push(DeletedObject {
                        key: Some(o.key),
                        ..Default::default()
                    });
                }
            }
            Err(e) => errors.push(Error {
                code: Some(e.code().as_str().to_string()),
                message: e.message().map(str::to_string),
                key: Some(o.key),
                ..Default::default()
            }),
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}

pub(super) async fn copy_object(
    node: &Node,
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
    node.bucket(&i.bucket)?;
    if keys::is_node_key(&i.key) {
        return Err(s3_error!(
            InvalidRequest,
            "`.hiss/` objects are written by PUT (a kernel is attached by uploading its bundle)"
        ));
    }
    // a copy is not new data from the instrument: the kernel does not run on it
    let (m, reader) = node.open(from_bucket, from_key).await?;
    let tmp = node.store.tmp_path();
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
    let m = node.commit(&i.bucket, tmp, meta).await?;
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(m.etag.clone())),
            last_modified: Some(timestamp(m.modified)),
            ..Default::default()
        }),
        ..Default::default()
    }))
}
