//! The HISS node: an S3-compatible buffer in front of a persistent tier that
//! runs a bucket's kernel on every data object as its body arrives.
//!
//! - [`store`]: the buffer on disk (durable commits, keys that never become paths);
//! - [`kernel`]: attaching a bundle to a bucket, and one object's frames through
//!   an emulated slot;
//! - [`s3`]: the S3 operations (on the `s3s` crate) and the ingest path that ties
//!   the two together;
//! - [`events`]: one JSON line per processed object, for the instrument;
//! - [`routes`]: `/_hiss/v1/events` and `/_hiss/v1/metrics`;
//! - [`metrics`]: the counters;
//! - [`tier`]: the persistent tier (a directory, or an S3 service) and
//!   [`flush`], the thread that copies committed objects into it;
//! - [`fresh`]: signatures expire (15 minutes of clock skew, presigned URLs' lifetimes).
//!
//! - [`serve`]: the HTTP server with AWS Signature V4 on every request
//!   (docs/node.md), run by the `hiss-node` binary and by `hissc node`.

pub mod events;
pub mod flush;
pub mod fresh;
pub mod kernel;
pub mod metrics;
pub mod routes;
pub mod s3;
pub mod serve;
pub mod store;
pub mod tier;
