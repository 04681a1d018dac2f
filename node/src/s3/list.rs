//! Listing a bucket (v1 and v2): the buffer's objects and the tier's that the
//! buffer does not have, in key order, paged, rolled up under a delimiter.

use super::object::timestamp;
use crate::fail::store_error;
use crate::node::Node;
use crate::store::ObjectMeta;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

pub(super) async fn list_objects(
    node: &Node,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let i = req.input;
    let all = list_all(node, &i.bucket, i.prefix.as_deref().unwrap_or("")).await?;
    let page = list_page(
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

pub(super) async fn list_objects_v2(
    node: &Node,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let i = req.input;
    let after = i.continuation_token.as_deref().or(i.start_after.as_deref());
    let all = list_all(node, &i.bucket, i.prefix.as_deref().unwrap_or("")).await?;
    let page = list_page(
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

/// One page of a listing.
pub(super) struct Page {
    contents: Vec<Object>,
    prefixes: Vec<CommonPrefix>,
    next: Option<String>,
    max_keys: i32,
}

/// The objects of a bucket under `prefix`: the buffer's, and the tier's that
/// the buffer does not have (flushed by another node sharing the tier).
async fn list_all(node: &Node, bucket: &str, prefix: &str) -> S3Result<Vec<ObjectMeta>> {
    let mut all = node.store.list(bucket, prefix).map_err(store_error)?;
    let (b, p) = (bucket.to_string(), prefix.to_string());
    let more = node.on_tier(move |tier| tier.list(&b, &p)).await?;
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
