//! The node's own routes beside S3, signed like any request:
//! `GET /_hiss/v1/events?bucket=B[&from=N][&follow=0]` streams a bucket's events
//! as newline-delimited JSON (from position `N`, then as they happen unless
//! `follow=0`), and `GET /_hiss/v1/metrics` gives the counters in Prometheus's
//! text format.

use crate::events::Events;
use crate::metrics::Metrics;
use crate::store::Store;
use hyper::http::Extensions;
use hyper::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result};
use std::sync::Arc;

/// The path prefix of the node's routes.
pub const PREFIX: &str = "/_hiss/v1/";

/// Every bucket name reaches the node, which refuses one S3 does not take with
/// `InvalidBucketName` and a message saying S3's rule
/// ([`crate::store::check_bucket_name`]; s3s's own refusal has no message, so
/// clients printed "Unknown"); `_hiss` is the node's routes.
pub struct Names;

impl s3s::validation::NameValidation for Names {
    fn validate_bucket_name(&self, name: &str) -> bool {
        !name.is_empty()
    }
}

/// The node's routes.
pub struct Routes {
    /// The buffer (for bucket directories).
    pub store: Arc<Store>,
    /// Every bucket's events.
    pub events: Arc<Events>,
    /// The counters.
    pub metrics: Arc<Metrics>,
    /// The slots (their own counters).
    pub pool: Arc<crate::slots::Pool>,
    /// Tells followers that the node stops.
    pub closing: tokio::sync::watch::Receiver<bool>,
}

/// The value of query parameter `name`, percent-decoded.
fn query(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name)
            .then(|| urlencoding::decode(v).map_or_else(|_| v.to_string(), |d| d.into_owned()))
    })
}

#[async_trait::async_trait]
impl S3Route for Routes {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        method == Method::GET && uri.path().starts_with(PREFIX)
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        match req.uri.path().strip_prefix(PREFIX) {
            Some("metrics") => Ok(S3Response::new(Body::from(
                self.metrics.render() + &self.pool.render(),
            ))),
            Some("events") => {
                let bucket = query(&req.uri, "bucket")
                    .ok_or_else(|| s3_error!(InvalidArgument, "give the bucket: ?bucket=NAME"))?;
                let from = match query(&req.uri, "from") {
                    None => 0,
                    Some(f) => f.parse::<u64>().map_err(|_| {
                        s3_error!(InvalidArgument, "`from={f}` is not a position (0, 1, ...)")
                    })?,
                };
                let follow = query(&req.uri, "follow").is_none_or(|f| f != "0" && f != "false");
                let dir = self
                    .store
                    .bucket_path(&bucket)
                    .map_err(|_| s3_error!(NoSuchBucket, "The specified bucket does not exist."))?;
                let log = self
                    .events
                    .log(dir)
                    .map_err(|e| s3_error!(InternalError, "{e}"))?;
                let stream = log.stream(from, follow, self.closing.clone());
                let body = http_body_util::StreamBody::new(futures::StreamExt::map(stream, |r| {
                    r.map(hyper::body::Frame::data)
                }));
                let mut resp = S3Response::new(Body::http_body(body));
                resp.headers.insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/x-ndjson"),
                );
                Ok(resp)
            }
            _ => Err(s3_error!(
                NotImplemented,
                "no such route: {}",
                req.uri.path()
            )),
        }
    }
}
