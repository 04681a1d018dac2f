//! Bucket operations: create, delete (its kernel and events go with it),
//! exists, location, and the list of buckets.

use crate::fail::store_error;
use crate::node::Node;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

pub(super) async fn create_bucket(
    node: &Node,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    node.store
        .create_bucket(&req.input.bucket)
        .map_err(store_error)?;
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{}", req.input.bucket)),
    }))
}

pub(super) async fn delete_bucket(
    node: &Node,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let b = &req.input.bucket;
    let dir = node.store.bucket_path(b).map_err(store_error)?;
    node.store.delete_bucket(b).map_err(store_error)?;
    node.events.forget(dir);
    node.detach(b);
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub(super) async fn head_bucket(
    node: &Node,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    node.bucket(&req.input.bucket)?;
    Ok(S3Response::new(HeadBucketOutput::default()))
}

pub(super) async fn get_bucket_location(
    node: &Node,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    node.bucket(&req.input.bucket)?;
    Ok(S3Response::new(GetBucketLocationOutput::default()))
}

pub(super) async fn list_buckets(
    node: &Node,
    _req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let mut buckets = Vec::new();
    for name in node.store.buckets().map_err(store_error)? {
        let created = std::fs::metadata(node.store.bucket_path(&name).map_err(store_error)?)
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

/// The node keeps one version of each key: versioning was never enabled (no
/// status), as S3 answers for such a bucket.
pub(super) async fn get_bucket_versioning(
    node: &Node,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    node.bucket(&req.input.bucket)?;
    Ok(S3Response::new(GetBucketVersioningOutput::default()))
}
